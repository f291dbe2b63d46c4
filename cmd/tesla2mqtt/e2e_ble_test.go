package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Bluetooth end to end: the bridge wired as run wires it, Blue Y (and Grey
// Y) with [vehicle.ble], the simulator's radio in place of the adapter,
// MQTT through a real broker. The simulator's cars stay the same whichever
// way the bridge reaches them, so the tests see what a user would: the
// state, the results, and what reached the Fleet API.

// fleetLog records the Fleet API requests about one car (its VIN in the
// path: vehicle_data, wake_up, commands, the car's own state; or in the
// body of fleet_status) before the simulator answers them. Every billable
// request about the car is among them; the simulator's own meter
// (Sim.Billable) counts the account's other cars and sites too.
type fleetLog struct {
	h   http.Handler
	vin string

	mu   sync.Mutex
	reqs []string
}

func (l *fleetLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	about := strings.Contains(r.URL.Path, "/"+l.vin)
	if r.Body != nil && strings.HasSuffix(r.URL.Path, "/fleet_status") {
		// fleet_status names its cars in the body.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		about = about || bytes.Contains(body, []byte(l.vin))
	}
	if about {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
	}
	l.h.ServeHTTP(w, r)
}

// take returns the requests recorded since the last take.
func (l *fleetLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

type bleE2E struct {
	*e2e
	st    *stack
	ctx   context.Context
	cfg   *config.Config
	wired wiring // the tokens and key the stack runs with
	url   string // the simulator's
	set   *mqtt.Client
	fleet *fleetLog
	n     int
}

// startBLEE2E runs the bridge with vin on [vehicle.ble] route; rssi 0
// leaves the car out of range at start. The demo's signed setup: Blue Y
// (asleep) is paired with the bridge's key, Grey Y is not. with changes
// the config before the bridge starts.
func startBLEE2E(t *testing.T, vin, route string, rssi int, with ...func(*config.Config)) *bleE2E {
	t.Helper()
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	key, err := sim.SetupSignedDemo()
	if err != nil {
		t.Fatal(err)
	}
	if rssi != 0 {
		sim.SetBLERange(vin, true, rssi)
	}
	log := &fleetLog{h: sim, vin: vin}
	srv := httptest.NewServer(log)
	t.Cleanup(srv.Close)
	url := testBroker(t)
	w := newWatcher(t, url)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.MQTT.URL = url
	cfg.Tesla.Domain = "example.com"
	cfg.Vehicles = []config.Vehicle{{VIN: vin, BLE: config.VehicleBLE{Enabled: true, Route: route}}}
	for _, f := range with {
		f(&cfg)
	}
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})
	wired := wiring{tokens: tokens, signingKey: key, bleRadio: sim.BLERadio()}
	st, ctx, sched, stopStack := e2eStack(t, &cfg, clock, srv.URL, wired)
	setter := mqtt.New(mqtt.Options{URL: url, ClientID: "e2e-ble-setter", Logger: zerolog.Nop()})
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if err := setter.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = setter.Close(context.Background()); stopStack() }) }
	t.Cleanup(stop)
	return &bleE2E{e2e: &e2e{sim: sim, clock: clock, sched: sched, w: w, stop: stop}, st: st, ctx: ctx,
		cfg: &cfg, wired: wired, url: srv.URL, set: setter, fleet: log}
}

// command sends {"<key>": value} to vin's set topic and returns its result.
func (e *bleE2E) command(t *testing.T, vin, key string, value any) map[string]any {
	t.Helper()
	e.n++
	tr := fmt.Sprintf("ble-%d", e.n)
	payload, _ := json.Marshal(map[string]any{key: value, "transaction": tr})
	if err := e.set.Publish("tesla2mqtt/"+vin+"/set", payload, false); err != nil {
		t.Fatal(err)
	}
	return e.w.waitJSON(t, "tesla2mqtt/"+vin+"/result", func(m map[string]any) bool { return m["transaction"] == tr })
}

// request publishes bridge/request/<action> with body and a transaction,
// and returns a waiter for its response.
func (e *bleE2E) request(t *testing.T, action string, body map[string]any) func() map[string]any {
	t.Helper()
	e.n++
	tr := fmt.Sprintf("ble-req-%d", e.n)
	body["transaction"] = tr
	payload, _ := json.Marshal(body)
	if err := e.set.Publish("tesla2mqtt/bridge/request/"+action, payload, false); err != nil {
		t.Fatal(err)
	}
	return func() map[string]any {
		return e.w.waitJSON(t, "tesla2mqtt/bridge/response/"+action, func(m map[string]any) bool { return m["transaction"] == tr })
	}
}

// advanceUntil moves the test clock on, a few seconds at a time, until
// <base>/<topic> satisfies ok: a session's Run links a car that came back
// after its back-off, on timers of that clock, in its own goroutine. Each
// step waits for the next message at most briefly: the clock, not the
// wall, says when the back-off is over.
func (e *bleE2E) advanceUntil(t *testing.T, topic string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	guard := time.NewTimer(10 * time.Second) // against a hang, not a wait
	defer guard.Stop()
	for {
		if raw := e.w.get("tesla2mqtt/" + topic); raw != nil {
			m := map[string]any{}
			if json.Unmarshal(raw, &m) == nil && ok(m) {
				return m
			}
		}
		e.clock.Advance(2 * time.Second)
		step := time.NewTimer(20 * time.Millisecond)
		select {
		case <-e.w.notify:
		case <-step.C:
		case <-guard.C:
			t.Fatalf("tesla2mqtt/%s never satisfied the condition; last payload: %s", topic, e.w.get("tesla2mqtt/"+topic))
		}
		step.Stop()
	}
}

// noFleet fails when a Fleet API request about the car was made since the
// last call.
func (e *bleE2E) noFleet(t *testing.T, when string) {
	t.Helper()
	if reqs := e.fleet.take(); len(reqs) != 0 {
		t.Errorf("%s: Fleet API requests about the car %v, want none", when, reqs)
	}
}

// state waits until the car's state object satisfies ok.
func (e *bleE2E) state(t *testing.T, vin string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	return e.w.waitJSON(t, "tesla2mqtt/"+vin, ok)
}

// A car asleep in the garage is checked by its body controller: asleep and
// locked, for free, and it sleeps on. A command wakes it over Bluetooth
// (free), runs over Bluetooth, and its confirming read is GetState: the
// car's values, the route in the result and data_source say so, and no
// request about the car reached the Fleet API.
func TestEndToEndBLEInRangeIsFree(t *testing.T) {
	e := startBLEE2E(t, modelY, "prefer", -58)

	s := e.state(t, modelY, func(m map[string]any) bool {
		return m["state"] == "asleep" && m["data_source"] == "ble" && m["ble_connected"] == true
	})
	if s["locked"] != true || s["ble_rssi"] != -58.0 {
		t.Errorf("asleep in range: locked %v, ble_rssi %v; want true and -58", s["locked"], s["ble_rssi"])
	}
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	e.state(t, modelY, func(m map[string]any) bool { return m["state"] == "asleep" })
	if st := e.sim.SleepStats(modelY); st.Wakes != 0 || e.sim.VehicleState(modelY) != fleet.StateAsleep {
		t.Errorf("the checks woke the car: %+v, now %s", st, e.sim.VehicleState(modelY))
	}
	e.noFleet(t, "asleep in range")

	r := e.command(t, modelY, "charge_limit", 83)
	if r["status"] != "ok" || r["via"] != "ble" || r["woke"] != true {
		t.Fatalf("command to the sleeping car in range: %v; want ok via ble, woke", r)
	}
	if got := e.sim.Snapshot(modelY).ChargeLimit; got != 83 {
		t.Errorf("charge limit = %v, want 83", got)
	}
	if st := e.sim.SleepStats(modelY); st.BLEWakes != 1 || st.APIWakes != 0 {
		t.Errorf("wakes: Bluetooth %d, wake_up %d; want 1 and 0", st.BLEWakes, st.APIWakes)
	}
	snap := e.sim.Snapshot(modelY)
	s = e.state(t, modelY, func(m map[string]any) bool { return m["state"] == "online" && m["charge_limit"] == 83.0 })
	if s["data_source"] != "ble" || s["battery_level"] != float64(int(snap.BatteryLevel)) || s["odometer"] == nil {
		t.Errorf("after the confirming read: data_source %v, battery %v (car %v), odometer %v",
			s["data_source"], s["battery_level"], snap.BatteryLevel, s["odometer"])
	}
	if c := e.sim.BLECounts(); c["get_state"] == 0 || c["command"] == 0 {
		t.Errorf("bluetooth messages %v; want the command and GetState reads", c)
	}
	// The car is awake now: the policy's reads come over Bluetooth too.
	// The car's odometer moves, so the read has a value to publish (an
	// unchanged state waits for the heartbeat).
	e.clock.Advance(5 * time.Minute)
	now := e.clock.Now().UTC().Format(time.RFC3339)
	before := e.sim.BLECounts()["get_state"]
	if err := e.sim.Update(modelY, func(s *fleetsim.VehicleSnapshot) { s.Odometer += 1.5 }); err != nil {
		t.Fatal(err)
	}
	odo := e.sim.Snapshot(modelY).Odometer
	e.sched.Fire("connectivity")
	e.sched.Fire("vehicle_data_idle")
	e.state(t, modelY, func(m map[string]any) bool { return m["last_seen"] == now && m["odometer"] == odo })
	if after := e.sim.BLECounts()["get_state"]; after <= before {
		t.Errorf("the idle read made no GetState (%d → %d)", before, after)
	}
	e.noFleet(t, "woken, commanded and read in range")
}

// The car drives off: the next command finds the link gone and goes over
// the Fleet API at once (run once, not lost), the state stays the car's
// (never a state made up from the broken link), and data_source says fleet
// after a Fleet API read. It comes home: after the back-off the session
// links again, the checks and reads go over Bluetooth, and the Fleet API
// requests about the car stop.
func TestEndToEndBLELeavesAndReturns(t *testing.T) {
	e := startBLEE2E(t, modelY, "prefer", -60)
	if err := e.sim.SetVehicleState(modelY, fleet.StateOnline); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	e.state(t, modelY, func(m map[string]any) bool { return m["state"] == "online" && m["data_source"] == "ble" })
	e.noFleet(t, "at home")

	e.sim.SetBLERange(modelY, false, 0)
	r := e.command(t, modelY, "charge_limit", 71)
	if r["status"] != "ok" || r["via"] != "fleet" || r["woke"] != false {
		t.Fatalf("command right after the car left: %v; want ok via fleet", r)
	}
	if got := e.sim.Snapshot(modelY).ChargeLimit; got != 71 {
		t.Errorf("charge limit = %v, want 71", got)
	}
	if c := e.sim.BLECounts()["command"]; c != 0 {
		t.Errorf("%d commands reached the car over Bluetooth, want none (it had left)", c)
	}
	reqs := e.fleet.take()
	signed := 0
	for _, q := range reqs {
		if strings.HasSuffix(q, "/signed_command") {
			signed++
		}
	}
	if signed == 0 {
		t.Errorf("Fleet API requests %v; want the command signed over the Fleet API", reqs)
	}
	s := e.state(t, modelY, func(m map[string]any) bool {
		return m["ble_connected"] == false && m["charge_limit"] == 71.0
	})
	if s["state"] != "online" || s["data_source"] != "fleet" {
		t.Errorf("away: state %v, data_source %v; want online, fleet", s["state"], s["data_source"])
	}
	// The checks go to the cloud while it is away.
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	e.state(t, modelY, func(m map[string]any) bool { return m["state"] == "online" })

	// Home again: the session's Run links within its back-off.
	e.sim.SetBLERange(modelY, true, -55)
	e.advanceUntil(t, modelY, func(m map[string]any) bool { return m["ble_connected"] == true })
	e.fleet.take()
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	e.sched.Fire("vehicle_data_idle")
	s = e.state(t, modelY, func(m map[string]any) bool { return m["data_source"] == "ble" && m["ble_rssi"] == -55.0 })
	if s["state"] != "online" {
		t.Errorf("back home: state %v, want online", s["state"])
	}
	if r := e.command(t, modelY, "charge_limit", 72); r["via"] != "ble" || r["status"] != "ok" {
		t.Errorf("command back home: %v; want ok via ble", r)
	}
	e.noFleet(t, "back home")
}

// A car that does not know the key answers key_not_paired over Bluetooth,
// with the Bluetooth remedy (the key card) and the pairing link as the
// alternative, and no wake. Pairing through the running bridge (which
// holds the adapter) asks for the card, the user taps it, key_paired turns
// on, and the command works.
func TestEndToEndBLEUnpairedKeyAndPairing(t *testing.T) {
	e := startBLEE2E(t, greyY, "prefer", -64)
	e.state(t, greyY, func(m map[string]any) bool { return m["ble_connected"] == true && m["state"] == "online" })

	r := e.command(t, greyY, "charge_limit", 66)
	errObj, _ := r["error"].(map[string]any)
	if r["status"] != "error" || r["via"] != "ble" || errObj == nil || errObj["code"] != "key_not_paired" {
		t.Fatalf("unpaired key over Bluetooth: %v", r)
	}
	remedy, _ := errObj["remedy"].(string)
	if !strings.Contains(remedy, "tesla2mqtt ble pair --vin "+greyY) || !strings.Contains(remedy, "key card") ||
		!strings.Contains(remedy, "https://tesla.com/_ak/example.com") {
		t.Errorf("remedy %q: want the key card, `tesla2mqtt ble pair` and the pairing link", remedy)
	}
	e.state(t, greyY, func(m map[string]any) bool { return m["key_paired"] == false })

	// A second command is refused without a wake or a try: the key is known unpaired.
	if err := e.sim.SetVehicleState(greyY, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	e.state(t, greyY, func(m map[string]any) bool { return m["state"] == "asleep" })
	r = e.command(t, greyY, "charge_limit", 67)
	if errObj, _ := r["error"].(map[string]any); errObj == nil || errObj["code"] != "key_not_paired" || r["woke"] != false {
		t.Errorf("command to the asleep car with the key unpaired: %v; want key_not_paired, no wake", r)
	}
	if st := e.sim.SleepStats(greyY); st.BLEWakes != 0 || st.APIWakes != 0 {
		t.Errorf("futile wakes: %+v", st)
	}

	answer := e.request(t, "ble_pair", map[string]any{"vin": greyY})
	e.w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool {
		return m["type"] == "ble_pairing" && m["vin"] == greyY
	})
	if !e.sim.BLEPairingPending(greyY) {
		t.Fatal("the prompt came before the add-key request reached the car")
	}
	if err := e.sim.TapKeyCard(greyY); err != nil {
		t.Fatal(err)
	}
	e.advanceUntil(t, "bridge/response/ble_pair", func(m map[string]any) bool { return m["status"] != nil })
	resp := answer()
	if data, _ := resp["data"].(map[string]any); resp["status"] != "ok" || data["paired"] != true || data["vin"] != greyY {
		t.Fatalf("ble_pair response %v", resp)
	}
	e.state(t, greyY, func(m map[string]any) bool { return m["key_paired"] == true })
	if r := e.command(t, greyY, "charge_limit", 68); r["status"] != "ok" || r["via"] != "ble" {
		t.Errorf("command after pairing: %v; want ok via ble", r)
	}
	if got := e.sim.Snapshot(greyY).ChargeLimit; got != 68 {
		t.Errorf("charge limit = %v, want 68", got)
	}
}

// route = "only" keeps the car off the Fleet API: out of range it is
// offline, a command answers vehicle_offline with the Bluetooth remedy, and
// nothing about the car reaches the Fleet API, not even fleet_status.
func TestEndToEndBLEOnlyNeverUsesTheFleetAPI(t *testing.T) {
	e := startBLEE2E(t, modelY, "only", 0)
	e.state(t, modelY, func(m map[string]any) bool { return m["state"] == "offline" && m["ble_connected"] == false })
	r := e.command(t, modelY, "charge_limit", 70)
	errObj, _ := r["error"].(map[string]any)
	if r["status"] != "error" || errObj == nil || errObj["code"] != "vehicle_offline" ||
		!strings.Contains(fmt.Sprint(errObj["remedy"]), "Bluetooth range") {
		t.Fatalf("only, out of range: %v; want vehicle_offline with the Bluetooth remedy", r)
	}
	e.sched.Fire("fleet_status")
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	e.noFleet(t, "route only, out of range")
	if st := e.sim.SleepStats(modelY); st.APIWakes != 0 || st.BLEWakes != 0 {
		t.Errorf("wakes %+v, want none", st)
	}
	// In range it works, over Bluetooth alone.
	e.sim.SetBLERange(modelY, true, -50)
	e.advanceUntil(t, modelY, func(m map[string]any) bool { return m["ble_connected"] == true })
	e.sched.Fire("connectivity")
	e.state(t, modelY, func(m map[string]any) bool { return m["state"] == "asleep" })
	if r := e.command(t, modelY, "charge_limit", 74); r["status"] != "ok" || r["via"] != "ble" || r["woke"] != true {
		t.Errorf("only, in range: %v; want ok via ble, woke", r)
	}
	e.noFleet(t, "route only, in range")
}

// route = "off" only watches the beacon: the RSSI is published, and every
// read and command goes over the Fleet API.
func TestEndToEndBLEOffWatchesTheBeacon(t *testing.T) {
	e := startBLEE2E(t, modelY, "off", -67)
	e.advanceUntil(t, modelY, func(m map[string]any) bool { return m["ble_rssi"] == -67.0 })
	r := e.command(t, modelY, "charge_limit", 69)
	if r["status"] != "ok" || r["via"] != "fleet" || r["woke"] != true {
		t.Fatalf("route off: %v; want ok via fleet, woke (wake_up)", r)
	}
	if c := e.sim.BLECounts(); len(c) != 0 {
		t.Errorf("route off sent %v over Bluetooth, want nothing", c)
	}
	if st := e.sim.SleepStats(modelY); st.APIWakes != 1 {
		t.Errorf("wakes %+v, want the one wake_up", st)
	}
}
