package bridge

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

func TestStateAfterFirstRead(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	st := pub.state(t, "t2m/"+testVIN)
	want := map[string]any{"battery_level": 62.0, "charging_state": "Charging", "inside_temp": 21.5,
		"locked": true, "state": "online", "latitude": 52.5, "odometer": 1000.0}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %v, want %v", k, st[k], v)
		}
	}
	// One null policy: an entity without a value is present as null.
	if v, ok := st["outside_temp"]; !ok || v != nil {
		t.Errorf("outside_temp = %v (present %v), want null", v, ok)
	}
	if want := clocktest.Start(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)).Format(time.RFC3339); st["updated_at"] != want {
		t.Errorf("updated_at = %v", st["updated_at"])
	}
	site := pub.state(t, "t2m/42")
	if site["solar_power"] != 3000.0 || site["battery_level"] != 55.5 || site["grid_status"] != "Active" {
		t.Errorf("site state = %v", site)
	}
	for _, topic := range []string{"t2m/" + testVIN + "/availability", "t2m/42/availability"} {
		if string(pub.retainedAt(topic)) != "online" {
			t.Errorf("%s = %q", topic, pub.retainedAt(topic))
		}
	}
}

func TestDiscoveryPayloads(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	topic := "homeassistant/sensor/tesla2mqtt_" + testVIN + "_battery_level/config"
	raw := pub.retainedAt(topic)
	if raw == nil {
		t.Fatalf("no discovery on %s", topic)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c["unique_id"] != "tesla2mqtt_"+testVIN+"_battery_level" || c["state_topic"] != "t2m/"+testVIN ||
		c["unit_of_measurement"] != "%" || c["device_class"] != "battery" || c["availability_mode"] != "all" {
		t.Errorf("config = %s", raw)
	}
	dev := c["device"].(map[string]any)
	if dev["model"] != "Model 3" || dev["serial_number"] != testVIN || dev["sw_version"] != "2026.32.5" || dev["manufacturer"] != "Tesla" {
		t.Errorf("device = %v", dev)
	}
	// Every discovery topic uses only valid characters and every payload has a unique id.
	valid := regexp.MustCompile(`^homeassistant/[a-z_]+/[A-Za-z0-9_-]+/config$`)
	ids := map[string]bool{}
	for _, tp := range pub.RetainedTopics() {
		p := pub.retainedAt(tp)
		if !strings.HasPrefix(tp, "homeassistant/") {
			continue
		}
		if !valid.MatchString(tp) {
			t.Errorf("invalid discovery topic %s", tp)
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatalf("%s: %v", tp, err)
		}
		id, _ := m["unique_id"].(string)
		if id == "" || ids[id] {
			t.Errorf("%s: unique_id %q missing or duplicate", tp, id)
		}
		ids[id] = true
	}
}

func TestAsleepCarKeepsValues(t *testing.T) {
	b, ff, pub, sched := newTestBridge(t, nil)
	ff.set(func() {
		ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "asleep"}}
	})
	sched.Fire("connectivity")
	st := pub.state(t, "t2m/"+testVIN)
	if st["state"] != "asleep" || st["battery_level"] != 62.0 {
		t.Errorf("asleep state = %v", st)
	}
	before := ff.calls["vehicle_data"]
	sched.Fire("vehicle_data_charging")
	sched.Fire("vehicle_data_idle")
	sched.Fire("vehicle_data_driving")
	if n := ff.calls["vehicle_data"]; n != before {
		t.Errorf("vehicle_data called %d times for an asleep car", n-before)
	}
	_ = b
}

func TestFleetErrorKeepsLastValue(t *testing.T) {
	_, ff, pub, sched := newTestBridge(t, nil)
	ff.set(func() {
		ff.dataErr[testVIN] = &fleet.APIError{Endpoint: "vehicle_data", Status: 503, Kind: fleet.ErrServer}
	})
	sched.Fire("vehicle_data_charging")
	st := pub.state(t, "t2m/"+testVIN)
	if st["battery_level"] != 62.0 || st["state"] != "online" {
		t.Errorf("state after 503 = %v", st)
	}
	ff.set(func() {
		ff.dataErr[testVIN] = &fleet.APIError{Endpoint: "vehicle_data", Status: 408, Kind: fleet.ErrAsleep}
	})
	sched.Fire("vehicle_data_charging")
	if st := pub.state(t, "t2m/"+testVIN); st["state"] != "asleep" || st["battery_level"] != 62.0 {
		t.Errorf("state after 408 = %v", st)
	}
}

func TestChargingCarPolledOnChargingSchedule(t *testing.T) {
	_, ff, pub, sched := newTestBridge(t, nil)
	before := ff.calls["vehicle_data"]
	sched.Fire("vehicle_data_idle")
	sched.Fire("vehicle_data_driving")
	if ff.calls["vehicle_data"] != before {
		t.Fatal("a charging car was read on the idle or driving schedule")
	}
	ff.set(func() {
		ff.data[testVIN].Charge = &fleet.ChargeStateData{BatteryLevel: entity.Ptr(63.0), ChargingState: entity.Ptr("Charging")}
	})
	sched.Fire("vehicle_data_charging")
	if ff.calls["vehicle_data"] != before+1 {
		t.Fatalf("vehicle_data calls = %d, want %d", ff.calls["vehicle_data"], before+1)
	}
	if st := pub.state(t, "t2m/"+testVIN); st["battery_level"] != 63.0 {
		t.Errorf("battery_level = %v", st["battery_level"])
	}
	// The endpoint list comes from the table.
	got := map[fleet.Endpoint]bool{}
	for _, e := range ff.lastEps {
		got[e] = true
	}
	for _, e := range []fleet.Endpoint{fleet.ChargeState, fleet.ClimateState, fleet.VehicleState, fleet.LocationData, fleet.DriveState} {
		if !got[e] {
			t.Errorf("endpoints %v lack %s", ff.lastEps, e)
		}
	}
}

func TestMissingLocationScopeDropsTracker(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, func(o *Options) {
		o.GrantedScopes = func() []string { return []string{"vehicle_device_data", "energy_device_data"} }
	})
	for _, tp := range pub.RetainedTopics() {
		if strings.Contains(tp, "device_tracker") || strings.Contains(tp, "_latitude/") {
			t.Errorf("location entity offered without the vehicle_location scope: %s", tp)
		}
	}
	for _, e := range ff.lastEps {
		if e == fleet.LocationData {
			t.Errorf("location_data requested without the scope")
		}
	}
}

func TestDisabledEntityAndRename(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, func(o *Options) {
		o.DisabledEntities = []string{"odometer"}
		o.EntityNames = map[string]string{"battery_level": "State of charge"}
	})
	if _, ok := pub.Retained("homeassistant/sensor/tesla2mqtt_" + testVIN + "_odometer/config"); ok {
		t.Error("disabled entity discovered")
	}
	if st := pub.state(t, "t2m/"+testVIN); st["odometer"] != nil {
		t.Error("disabled entity in state")
	}
	var c map[string]any
	_ = json.Unmarshal(pub.retainedAt("homeassistant/sensor/tesla2mqtt_"+testVIN+"_battery_level/config"), &c)
	if c["name"] != "State of charge" {
		t.Errorf("name = %v", c["name"])
	}
}

func TestHABirthRepublishes(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	topic := "homeassistant/sensor/tesla2mqtt_" + testVIN + "_battery_level/config"
	before := pub.Count(topic)
	pub.Send("homeassistant/status", "offline")
	pub.sendAndWait(t, "homeassistant/status", "online", topic)
	// A republish request answers after a republish that started after
	// it: by then the birth's is done, and the offline did none.
	pub.sendAndWait(t, "t2m/bridge/request/republish", "{}", "t2m/bridge/response/republish")
	if pub.Count(topic) != before+2 {
		t.Fatalf("discovery published %d times after a birth and a request, want 2", pub.Count(topic)-before)
	}
	if n := pub.Count("t2m/" + testVIN); n < 2 {
		t.Errorf("state not republished")
	}
}

func TestRefreshRequestIsRateLimited(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	before := ff.calls["vehicle_data"]
	m := pub.sendAndWait(t, "t2m/bridge/request/refresh", `{"device":"`+testVIN+`","transaction":"t1"}`, "t2m/bridge/response/refresh")
	if !strings.Contains(string(m.Payload), `"status":"ok"`) || !strings.Contains(string(m.Payload), `"transaction":"t1"`) {
		t.Fatalf("response = %s", m.Payload)
	}
	if ff.calls["vehicle_data"] != before+1 {
		t.Errorf("refresh made %d vehicle_data calls", ff.calls["vehicle_data"]-before)
	}
	pub.Send("t2m/bridge/request/refresh", `{"device":"`+testVIN+`","transaction":"t2"}`)
	m, _ = pub.Last("t2m/bridge/response/refresh")
	if !strings.Contains(string(m.Payload), `"rate_limited"`) {
		t.Errorf("second refresh = %s", m.Payload)
	}
	if ff.calls["vehicle_data"] != before+1 {
		t.Error("rate-limited refresh still called the Fleet API")
	}
	pub.Send("t2m/bridge/request/refresh", `not json`)
	m, _ = pub.Last("t2m/bridge/response/refresh")
	if !strings.Contains(string(m.Payload), `"invalid_payload"`) {
		t.Errorf("bad payload = %s", m.Payload)
	}
	pub.Send("t2m/bridge/request/refresh", `{"device":"nope"}`)
	m, _ = pub.Last("t2m/bridge/response/refresh")
	if !strings.Contains(string(m.Payload), `"unknown_device"`) {
		t.Errorf("unknown device = %s", m.Payload)
	}
}

func TestMetricUnits(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, func(o *Options) { o.Units = entity.UnitsMetric })
	st := pub.state(t, "t2m/"+testVIN)
	if st["odometer"] != 1609.34 {
		t.Errorf("odometer = %v km, want 1609.34", st["odometer"])
	}
	var c map[string]any
	_ = json.Unmarshal(pub.retainedAt("homeassistant/sensor/tesla2mqtt_"+testVIN+"_odometer/config"), &c)
	if c["unit_of_measurement"] != "km" {
		t.Errorf("unit = %v", c["unit_of_measurement"])
	}
}
