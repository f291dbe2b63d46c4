package fleetsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// sinkRec collects what the stream publishes.
type sinkRec struct {
	mu   sync.Mutex
	msgs []struct {
		topic string
		value any
	}
}

func (r *sinkRec) sink(topic string, payload []byte) {
	var v any
	if strings.Contains(topic, "/v/") {
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		v = m["value"]
	} else {
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		v = m["Status"]
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, struct {
		topic string
		value any
	}{topic, v})
	r.mu.Unlock()
}

// take returns and forgets what was published, by topic (last value wins).
func (r *sinkRec) take() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]any{}
	for _, m := range r.msgs {
		out[m.topic] = m.value
	}
	r.msgs = nil
	return out
}

func (r *sinkRec) all(topic string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []any
	for _, m := range r.msgs {
		if m.topic == topic {
			out = append(out, m.value)
		}
	}
	return out
}

func signedConfig(t *testing.T, key *ecdsa.PrivateKey, now time.Time, ca string) string {
	t.Helper()
	fields, err := fleet.BuildTelemetryFields([]string{"BatteryLevel", "Locked", "VehicleSpeed", "Location", "Gear"},
		fleet.PresetBalanced, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := fleet.SignTelemetryConfig(key, fleet.TelemetryConfig{Hostname: "ft.example.com", Port: 443, CA: ca,
		Exp: now.Add(30 * 24 * time.Hour).Unix(), Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTelemetryConfigureVerifiesAndReportsSkips(t *testing.T) {
	e := newEnv(t)
	key, err := e.sim.SetupSignedDemo() // app key; Blue Y paired, Grey Y not
	if err != nil {
		t.Fatal(err)
	}
	e.sim.SetTelemetryCompat(vinBlue, fleet.SkipMaxConfigs)
	body := func(tok string) string {
		b, _ := json.Marshal(map[string]any{"vins": []string{vinRed, vinBlue, DemoUnpairedVIN}, "token": tok})
		return string(b)
	}
	res := e.call("POST", "/api/1/vehicles/fleet_telemetry_config_jws", e.token, body(signedConfig(t, key, t0, "CA")))
	if res.status != 200 {
		t.Fatalf("configure: %d %s", res.status, res.raw)
	}
	resp := res.body["response"].(map[string]any)
	skipped := resp["skipped_vehicles"].(map[string]any)
	if resp["updated_vehicles"] != 1.0 || len(skipped["missing_key"].([]any)) != 1 || skipped["max_configs"].([]any)[0] != vinBlue {
		t.Errorf("configure answered %s", res.raw)
	}
	if e.sim.TelemetryConfig(vinRed) == nil || e.sim.TelemetryConfig(DemoUnpairedVIN) != nil {
		t.Error("config installed on the wrong cars")
	}

	// A config signed by another key is refused: Tesla checks the app's key.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if res := e.call("POST", "/api/1/vehicles/fleet_telemetry_config_jws", e.token, body(signedConfig(t, other, t0, "CA"))); res.status != 400 {
		t.Errorf("foreign signature: %d %s", res.status, res.raw)
	}

	st := e.call("GET", "/api/1/vehicles/"+vinRed+"/fleet_telemetry_config", e.token, "").body["response"].(map[string]any)
	if st["synced"] != true || st["key_paired"] != true || st["config"].(map[string]any)["hostname"] != "ft.example.com" {
		t.Errorf("status = %v", st)
	}
	if st := e.call("GET", "/api/1/vehicles/"+vinBlue+"/fleet_telemetry_config", e.token, "").body["response"].(map[string]any); st["limit_reached"] != true {
		t.Errorf("blue status = %v, want limit_reached", st)
	}
	if res := e.call("DELETE", "/api/1/vehicles/"+vinRed+"/fleet_telemetry_config", e.token, ""); res.body["response"].(map[string]any)["updated_vehicles"] != 1.0 {
		t.Errorf("remove: %s", res.raw)
	}
	if e.sim.TelemetryConfig(vinRed) != nil {
		t.Error("config still installed after DELETE")
	}

	// Without a CA chain the car cannot verify the server: errors say so, nothing streams.
	e.call("POST", "/api/1/vehicles/fleet_telemetry_config_jws", e.token, body(signedConfig(t, key, t0, "")))
	errs := e.call("GET", "/api/1/vehicles/"+vinRed+"/fleet_telemetry_errors", e.token, "").body["response"].(map[string]any)
	if list := errs["fleet_telemetry_errors"].([]any); len(list) != 1 {
		t.Errorf("errors = %v", errs)
	}
	rec := &sinkRec{}
	e.sim.SetTelemetrySink("ft", rec.sink)
	if n := e.sim.TelemetryTick(); n != 0 {
		t.Errorf("a car without a CA streamed %d messages", n)
	}
}

func TestTelemetryStreamByIntervalDeltaAndSleep(t *testing.T) {
	e := newEnv(t)
	key, err := e.sim.SetupSignedDemo()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"vins": []string{vinRed, vinBlue}, "token": signedConfig(t, key, t0, "CA")})
	if res := e.call("POST", "/api/1/vehicles/fleet_telemetry_config_jws", e.token, string(b)); res.status != 200 {
		t.Fatalf("configure: %s", res.raw)
	}
	rec := &sinkRec{}
	e.sim.SetTelemetrySink("ft", rec.sink)

	// The awake car connects and sends every field once; the asleep one is silent.
	e.sim.TelemetryTick()
	got := rec.take()
	red := "ft/" + vinRed
	if got[red+"/connectivity"] != "CONNECTED" || got[red+"/v/Locked"] != true || got[red+"/v/Gear"] != "ShiftStateP" {
		t.Errorf("first tick: %v", got)
	}
	if loc, _ := got[red+"/v/Location"].(map[string]any); loc["latitude"] != 52.390612 {
		t.Errorf("Location = %v", got[red+"/v/Location"])
	}
	for topic := range got {
		if strings.Contains(topic, vinBlue) {
			t.Errorf("asleep car streamed %s", topic)
		}
	}
	// Nothing is due a second later; ten minutes of charging move the battery past its delta.
	e.clock.Advance(time.Second)
	if n := e.sim.TelemetryTick(); n != 0 {
		t.Errorf("%d messages one second later", n)
	}
	e.clock.Advance(10 * time.Minute)
	e.sim.TelemetryTick()
	got = rec.take()
	// Locked has not changed, but the preset resends it as the stream's
	// heartbeat (resend_interval_seconds); the rest stood still.
	if _, ok := got[red+"/v/BatteryLevel"]; !ok || got[red+"/v/Locked"] != true || len(got) != 2 {
		t.Errorf("after 10 min of charging: %v, want BatteryLevel and the Locked heartbeat", got)
	}
	// Two more minutes of charging move the battery ~0.3 %: past the
	// interval (60 s) but short of the delta (0.5), so it is not sent.
	before := e.sim.Snapshot(vinRed).BatteryLevel
	e.clock.Advance(2 * time.Minute)
	e.sim.TelemetryTick()
	if got, moved := rec.take(), e.sim.Snapshot(vinRed).BatteryLevel-before; got[red+"/v/BatteryLevel"] != nil || moved <= 0 || moved >= 0.5 {
		t.Errorf("battery moved %.2f %% (delta 0.5): %v", moved, got)
	}

	// Driving: VehicleSpeed every interval, now and then as a string.
	for i := range 6 {
		_ = e.sim.Update(vinRed, func(s *VehicleSnapshot) {
			s.ChargingState, s.ShiftState, s.Speed = ChargingDisconnected, "D", float64(30+10*i)
		})
		e.clock.Advance(11 * time.Second)
		e.sim.TelemetryTick()
	}
	speeds := rec.all(red + "/v/VehicleSpeed")
	strs := 0
	for _, s := range speeds {
		if _, ok := s.(string); ok {
			strs++
		}
	}
	if len(speeds) != 6 || strs == 0 || strs == len(speeds) {
		t.Errorf("speeds = %v: want 6, some as strings", speeds)
	}
	rec.take()

	// Parked and left alone, the car falls asleep and disconnects.
	_ = e.sim.Update(vinRed, func(s *VehicleSnapshot) { s.ShiftState, s.Speed = "", 0 })
	e.clock.Advance(DefaultSleepAfter + time.Minute)
	e.sim.TelemetryTick()
	if got := rec.take(); got[red+"/connectivity"] != "DISCONNECTED" {
		t.Errorf("after sleep: %v", got)
	}
}
