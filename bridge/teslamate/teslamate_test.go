package teslamate

import (
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

const testVIN = "5YJ3E1EA7PF000001"

// teslaMateDoc is TeslaMate's MQTT topic list (website/docs/integrations/
// mqtt.md: topic, unit as the docs state it), plus the keys newer
// TeslaMate releases publish (charging_state, location, tpms_pressure_*).
// Each row gives the Fleet API input and the payload a TeslaMate consumer
// expects for it, in TeslaMate's units.
var teslaMateDoc = []struct {
	key, unit, want string
}{
	{"display_name", "", "Blue Thunder"},
	{"state", "", "charging"},
	{"healthy", "", "true"},
	{"version", "", "2019.32.12.2"},
	{"update_available", "", "true"},
	{"update_version", "", "2019.32.12.3"},
	{"model", "", "3"},
	{"trim_badging", "", "P100D"},
	{"exterior_color", "", "DeepBlue"},
	{"wheel_type", "", "Pinwheel18"},
	{"latitude", "°", "35.278131"},
	{"longitude", "°", "29.744801"},
	{"shift_state", "", "P"},
	{"power", "kW", "-9"},
	{"speed", "km/h", "0"},
	{"heading", "°", "340"},
	{"locked", "", "true"},
	{"sentry_mode", "", "false"},
	{"windows_open", "", "false"},
	{"doors_open", "", "true"},
	{"driver_front_door_open", "", "true"},
	{"driver_rear_door_open", "", "false"},
	{"passenger_front_door_open", "", "false"},
	{"passenger_rear_door_open", "", "false"},
	{"trunk_open", "", "false"},
	{"frunk_open", "", "true"},
	{"is_user_present", "", "false"},
	{"is_climate_on", "", "true"},
	{"inside_temp", "°C", "20.8"},
	{"outside_temp", "°C", "18.4"},
	{"is_preconditioning", "", "false"},
	{"odometer", "km", "1653.01"},
	{"est_battery_range_km", "km", "372.5"},
	{"rated_battery_range_km", "km", "401.63"},
	{"ideal_battery_range_km", "km", "335.79"},
	{"battery_level", "%", "88"},
	{"usable_battery_level", "%", "85"},
	{"plugged_in", "", "true"},
	{"charging_state", "", "Charging"},
	{"charge_energy_added", "kWh", "5.06"},
	{"charge_limit_soc", "%", "90"},
	{"charge_port_door_open", "", "true"},
	{"charger_actual_current", "A", "16"},
	{"charger_phases", "", "3"},
	{"charger_power", "kW", "11"},
	{"charger_voltage", "V", "230"},
	{"charge_current_request", "A", "16"},
	{"charge_current_request_max", "A", "32"},
	{"scheduled_charging_start_time", "", "2019-02-28T23:00:07Z"},
	{"time_to_full_charge", "h", "1.83"},
	{"tpms_pressure_fl", "bar", "2.9"},
	{"tpms_pressure_fr", "bar", "2.9"},
	{"tpms_pressure_rl", "bar", "2.95"},
	{"tpms_pressure_rr", "bar", "2.95"},
	{"location", "", `{"latitude":35.278131,"longitude":29.744801}`},
}

// teslaMateCar is a charging, parked car whose native values (miles, mph)
// convert to the docs' examples.
func teslaMateCar() *entity.VehicleView {
	return &entity.VehicleView{VIN: testVIN, DisplayName: "Blue Thunder", State: fleet.StateOnline, Data: fleet.VehicleData{
		Charge: &fleet.ChargeStateData{BatteryLevel: ptr(88.0), UsableBatteryLevel: ptr(85.0),
			EstBatteryRange: ptr(372.5 / entity.KmPerMile), BatteryRange: ptr(401.63 / entity.KmPerMile), IdealBatteryRange: ptr(335.79 / entity.KmPerMile),
			ChargingState: ptr("Charging"), ChargeEnergyAdded: ptr(5.06), ChargeLimitSOC: ptr(90.0), ChargePortDoorOpen: ptr(true),
			ChargerActualCurrent: ptr(16.0), ChargerPhases: ptr(3.0), ChargerPower: ptr(11.0), ChargerVoltage: ptr(230.0),
			ChargeCurrentRequest: ptr(16.0), ChargeCurrentRequestMax: ptr(32.0), TimeToFullCharge: ptr(1.83),
			ScheduledChargingStart: ptr(1551394807.0)},
		Climate: &fleet.ClimateStateData{IsClimateOn: ptr(true), InsideTemp: ptr(20.8), OutsideTemp: ptr(18.4), IsPreconditioning: ptr(false)},
		Drive:   &fleet.DriveStateData{Latitude: ptr(35.278131), Longitude: ptr(29.744801), Heading: ptr(340.0), Speed: nil, Power: ptr(-9.0), ShiftState: ptr("P")},
		Vehicle: &fleet.VehicleStateData{CarVersion: ptr("2019.32.12.2 abcdef"), Odometer: ptr(1653.01 / entity.KmPerMile), Locked: ptr(true),
			SentryMode: ptr(false), IsUserPresent: ptr(false), DriverFront: ptr(1.0), DriverRear: ptr(0.0), PassengerFront: ptr(0.0),
			PassengerRear: ptr(0.0), FdWindow: ptr(0.0), FpWindow: ptr(0.0), RdWindow: ptr(0.0), RpWindow: ptr(0.0),
			FrontTrunk: ptr(1.0), RearTrunk: ptr(0.0), TpmsPressureFL: ptr(2.9), TpmsPressureFR: ptr(2.9), TpmsPressureRL: ptr(2.95), TpmsPressureRR: ptr(2.95),
			SoftwareUpdate: &fleet.SoftwareUpdate{Status: ptr("available"), Version: ptr("2019.32.12.3")}},
		Config: &fleet.VehicleConfigData{CarType: ptr("model3"), TrimBadging: ptr("P100D"), ExteriorColor: ptr("DeepBlue"), WheelType: ptr("Pinwheel18")},
	}}
}

func TestTeslaMateValuesMatchTheDocumentedTopics(t *testing.T) {
	v := teslaMateCar()
	got := Values(v)
	got["healthy"] = "true" // added by OnState, from the device's last error
	for _, row := range teslaMateDoc {
		if row.key == "speed" {
			continue // parked: no speed, checked below
		}
		if got[row.key] != row.want {
			t.Errorf("%s (%s) = %q, want %q", row.key, row.unit, got[row.key], row.want)
		}
	}
	// Driving at 62.137 mph is 100 km/h, TeslaMate's unit.
	v.Data.Drive.Speed, v.Data.Drive.ShiftState = ptr(62.137), ptr("D")
	got = Values(v)
	if got["speed"] != "100" || got["state"] != "driving" {
		t.Errorf("driving: speed=%q state=%q, want 100 and driving", got["speed"], got["state"])
	}
}

func TestTeslaMateStates(t *testing.T) {
	for _, tc := range []struct {
		fleetState string
		charging   string
		update     string
		want       string
	}{
		{fleet.StateAsleep, "Charging", "", "asleep"},
		{fleet.StateOffline, "", "", "offline"},
		{fleet.StateOnline, "Complete", "", "online"},
		{fleet.StateOnline, "Charging", "", "charging"},
		{fleet.StateOnline, "Stopped", "installing", "updating"},
	} {
		v := &entity.VehicleView{State: tc.fleetState, Data: fleet.VehicleData{Charge: &fleet.ChargeStateData{ChargingState: ptr(tc.charging)}}}
		if tc.update != "" {
			v.Data.Vehicle = &fleet.VehicleStateData{SoftwareUpdate: &fleet.SoftwareUpdate{Status: ptr(tc.update)}}
		}
		if got := stateOf(v); got != tc.want {
			t.Errorf("%s/%s/%s → %q, want %q", tc.fleetState, tc.charging, tc.update, got, tc.want)
		}
	}
}

// retained reads pub's retained payload of topic as a string ("" when none).
func retained(pub *mqtttest.Router, topic string) string {
	p, _ := pub.Retained(topic)
	return string(p)
}

func ptr[T any](v T) *T { return &v }

func TestTeslaMateTopicsArePublishedRetainedPerCar(t *testing.T) {
	pub := mqtttest.NewRouter()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	tm := New(Options{Publisher: pub, Clock: clk, VINs: []string{"7SAYGDEE1PF000002", testVIN}})
	car := teslaMateCar()
	tm.OnState(contract.StateEvent{Device: "red", UID: testVIN, Kind: "vehicle", Force: true, Vehicle: car})
	tm.OnState(contract.StateEvent{Device: "42", UID: "42", Kind: "energy_site", Force: true})
	// The car is the second configured: it is car 2, as in TeslaMate.
	if got := retained(pub, "teslamate/cars/2/battery_level"); got != "88" {
		t.Fatalf("teslamate/cars/2/battery_level = %q, want retained 88", got)
	}
	if got := retained(pub, "teslamate/cars/2/odometer"); got != "1653.01" {
		t.Errorf("odometer = %q, want 1653.01 km", got)
	}
	if got := retained(pub, "teslamate/cars/2/state"); got != "charging" {
		t.Errorf("state = %q, want charging", got)
	}
	if got := retained(pub, "teslamate/cars/2/since"); got != clocktest.Start(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)).Format(time.RFC3339) {
		t.Errorf("since = %q", got)
	}
	if got := retained(pub, "teslamate/cars/2/healthy"); got != "true" {
		t.Errorf("healthy = %q", got)
	}
	for _, topic := range pub.RetainedTopics() {
		if !strings.HasPrefix(topic, "teslamate/cars/2/") {
			t.Errorf("published %s: only the car has TeslaMate topics", topic)
		}
	}
	// Unchanged values are not published again; a failed read changes
	// healthy alone; force republishes everything.
	before := pub.Count("teslamate/cars/2/battery_level")
	clk.Advance(time.Minute)
	tm.OnState(contract.StateEvent{Device: "red", UID: testVIN, Kind: "vehicle", Vehicle: car, LastError: "503"})
	if n := pub.Count("teslamate/cars/2/battery_level"); n != before {
		t.Errorf("an unchanged value was published again (%d → %d)", before, n)
	}
	if retained(pub, "teslamate/cars/2/healthy") != "false" || retained(pub, "teslamate/cars/2/since") != clocktest.Start(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)).Format(time.RFC3339) {
		t.Errorf("healthy = %q, since = %q", retained(pub, "teslamate/cars/2/healthy"), retained(pub, "teslamate/cars/2/since"))
	}
	tm.OnState(contract.StateEvent{Device: "red", UID: testVIN, Kind: "vehicle", Force: true, Vehicle: car})
	if n := pub.Count("teslamate/cars/2/battery_level"); n != before+1 {
		t.Errorf("force did not republish (%d → %d)", before, n)
	}
	// Another car takes the next free id.
	tm.OnState(contract.StateEvent{Device: "x", UID: "5YJ3E1EA7PF000009", Kind: "vehicle", Vehicle: &entity.VehicleView{State: "asleep"}})
	if retained(pub, "teslamate/cars/3/state") != "asleep" {
		t.Errorf("the unconfigured car's state = %q, want asleep on car 3", retained(pub, "teslamate/cars/3/state"))
	}
}
