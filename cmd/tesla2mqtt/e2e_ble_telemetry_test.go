package main

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// Bluetooth at home and Fleet Telemetry away, the cheapest row of `bench
// economy`, wired as run wires it: at home the commands and their wake go
// over Bluetooth; away they go over the Fleet API, and the stream keeps
// the state fresh without a single vehicle_data read; home again, the
// commands are free once more. data_source names the way the data came.
func TestEndToEndBLEAtHomeTelemetryAway(t *testing.T) {
	e := startBLEE2E(t, modelY, "prefer", -60)
	tick := make(chan time.Time)
	stream, err := startDemoTelemetry(e.ctx, demoTelemetry{sim: e.sim, simURL: e.url, st: e.st, cfg: e.cfg,
		tokens: e.wired.tokens, key: e.wired.signingKey, out: &lockedBuf{}, log: zerolog.Nop(), tick: tick})
	if err != nil {
		t.Fatal(err)
	}
	streamed := make(chan struct{})
	go func() { _ = stream.Run(e.ctx); close(streamed) }()
	t.Cleanup(func() { e.stop(); <-streamed })
	if c := e.sim.TelemetryConfig(modelY); c == nil {
		t.Fatal("telemetry configure left no config on the car")
	}
	e.state(t, modelY, func(m map[string]any) bool { return m["ble_connected"] == true && m["state"] == "asleep" })
	e.fleet.take() // configure's own requests

	// At home, asleep: the command wakes the car over Bluetooth and runs
	// there; the awake car streams.
	r := e.command(t, modelY, "charge_limit", 81)
	if r["status"] != "ok" || r["via"] != "ble" || r["woke"] != true {
		t.Fatalf("command at home: %v; want ok via ble, woke", r)
	}
	e.clock.Advance(2 * time.Second)
	tick <- e.clock.Now()
	e.state(t, modelY, func(m map[string]any) bool { return m["data_source"] == "telemetry" && m["charge_limit"] == 81.0 })
	if !e.st.bridge.StreamAlive(modelY) {
		t.Fatal("stream not alive after the tick")
	}
	e.noFleet(t, "at home")

	// It drives off: the stream brings the move, the jobs read nothing.
	e.sim.SetBLERange(modelY, false, 0)
	if err := e.sim.Update(modelY, func(s *fleetsim.VehicleSnapshot) { s.Latitude += 0.02 }); err != nil {
		t.Fatal(err)
	}
	lat := e.sim.Snapshot(modelY).Latitude
	e.clock.Advance(time.Minute)
	tick <- e.clock.Now()
	e.state(t, modelY, func(m map[string]any) bool { return m["latitude"] == lat && m["data_source"] == "telemetry" })
	e.sched.Fire("connectivity")
	for _, job := range []string{"vehicle_data_idle", "vehicle_data_driving", "vehicle_data_charging"} {
		e.sched.Fire(job)
	}
	for _, q := range e.fleet.take() {
		if strings.HasSuffix(q, "/"+fleet.CallVehicleData) || strings.HasSuffix(q, "/wake_up") {
			t.Errorf("away with the stream alive: %s, want no read and no wake", q)
		}
	}
	// A command away goes over the Fleet API (its confirming read too).
	r = e.command(t, modelY, "charge_limit", 79)
	if r["status"] != "ok" || r["via"] != "fleet" || e.sim.Snapshot(modelY).ChargeLimit != 79 {
		t.Fatalf("command away: %v; want ok via fleet", r)
	}
	e.state(t, modelY, func(m map[string]any) bool { return m["ble_connected"] == false && m["charge_limit"] == 79.0 })
	for _, q := range e.fleet.take() {
		if strings.HasSuffix(q, "/wake_up") {
			t.Errorf("away with the stream alive: %s, want no wake", q)
		}
	}

	// Home again: the session links after its back-off.
	e.sim.SetBLERange(modelY, true, -57)
	e.advanceUntil(t, modelY, func(m map[string]any) bool { return m["ble_connected"] == true })
	e.fleet.take()
	if r := e.command(t, modelY, "charge_limit", 80); r["status"] != "ok" || r["via"] != "ble" {
		t.Errorf("command back home: %v; want ok via ble", r)
	}
	e.noFleet(t, "back home")
}
