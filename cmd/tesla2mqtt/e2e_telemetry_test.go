package main

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// lockedBuf collects the configure report (written before the test reads it).
type lockedBuf struct{ sb strings.Builder }

func (l *lockedBuf) Write(p []byte) (int, error) { return l.sb.Write(p) }

// The `demo --telemetry` wiring end to end: fleetsim signs nothing but
// verifies the config signed by `telemetry configure`, plays the cars'
// stream through a real MQTT client into the broker, and the
// bridge ingests it from there; polling stops while the stream is alive.
func TestEndToEndTelemetryStream(t *testing.T) {
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	key, err := sim.SetupSignedDemo()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	url := testBroker(t)
	w := newWatcher(t, url)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.MQTT.URL = url
	cfg.Tesla.Domain = "app.example.com"
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})
	st, ctx, sched, stop := e2eStack(t, &cfg, clock, srv.URL, wiring{tokens: tokens, signingKey: key})
	out := &lockedBuf{}
	tick := make(chan time.Time)
	stream, err := startDemoTelemetry(ctx, demoTelemetry{sim: sim, simURL: srv.URL, st: st, cfg: &cfg,
		tokens: tokens, key: key, out: out, log: zerolog.Nop(), tick: tick})
	if err != nil {
		t.Fatal(err)
	}
	streamed := make(chan struct{})
	go func() { _ = stream.Run(ctx); close(streamed) }()
	t.Cleanup(func() { stop(); <-streamed })

	// configure went through the real client and the simulator's JWS check.
	report := out.sb.String()
	for _, want := range []string{model3 + "  configured", modelY + "  configured",
		fleetsim.DemoUnpairedVIN + "  skipped (missing_key)", "https://tesla.com/_ak/app.example.com?vin=" + fleetsim.DemoUnpairedVIN} {
		if !strings.Contains(report, want) {
			t.Errorf("configure report lacks %q:\n%s", want, report)
		}
	}
	if c := sim.TelemetryConfig(model3); c == nil || c.Fields["Location"].IntervalSeconds == 0 {
		t.Fatalf("config on the car = %+v", c)
	}
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["data_source"] == "fleet" })

	// The car is unlocked at the car: only the stream can tell the bridge.
	if err := sim.Update(model3, func(s *fleetsim.VehicleSnapshot) { s.Locked = false }); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	tick <- clock.Now()
	car := w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool {
		return m["data_source"] == "telemetry" && m["locked"] == false
	})
	if car["telemetry_at"] != clocktest.Start(time.Date(2026, 11, 29, 12, 0, 2, 0, time.UTC)).Format(time.RFC3339) {
		t.Errorf("telemetry_at = %v", car["telemetry_at"])
	}
	if !st.bridge.StreamAlive(model3) {
		t.Fatal("stream not alive after the first tick")
	}
	if n := st.meter.Total()[fleet.CallTelemetrySignal]; n < 10 {
		t.Errorf("%d streaming signals metered, want every field of the first burst", n)
	}

	// While the stream is alive the charging car's vehicle_data job reads nothing.
	reads := func() int { return sim.Counts()[fleet.CallVehicleData] }
	n := reads()
	sched.Fire("vehicle_data_charging")
	if reads() != n {
		t.Errorf("streaming car polled: %d reads", reads()-n)
	}

	// The asleep Model Y wakes: its CONNECTED record brings it online in the
	// bridge before any connectivity check.
	if err := sim.SetVehicleState(modelY, fleet.StateOnline); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	tick <- clock.Now()
	w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool {
		return m["state"] == "online" && m["data_source"] == "telemetry"
	})
	// The same tick streamed the Model 3 too, and the bridge dates each
	// record when it handles it: the clock may move on only once they are
	// in, or a late one would keep the stream alive past the quiet time.
	// A fence record on the Model 3's topics, sent after the tick's, is
	// handled after them (one lane per car, in order).
	fence := dialAs(t, url, "telemetry-fence", "", "")
	if err := fence.c.Publish(cfg.Telemetry.TopicBase+"/"+model3+"/v/Odometer", []byte(`{"value":99999.5}`), false); err != nil {
		t.Fatal(err)
	}
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["odometer"] == 99999.5 })

	// The stream goes quiet (no ticks): polling resumes by the policy.
	clock.Advance(telemetry.DefaultQuiet + time.Minute)
	n = reads()
	sched.Fire("vehicle_data_charging")
	if reads() != n+1 {
		t.Errorf("after the stream went quiet: %d reads, want 1", reads()-n)
	}
}
