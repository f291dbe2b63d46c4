package main

import (
	"context"
	"fmt"
	"net/http/httptest"
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

const greyY = fleetsim.DemoUnpairedVIN

// swappedTokens is a token source whose token the test replaces, as a
// refresh does.
type swappedTokens struct {
	mu  sync.Mutex
	tok string
}

func (s *swappedTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &oauth2.Token{AccessToken: s.tok, TokenType: "Bearer"}, nil
}

func (s *swappedTokens) set(tok string) {
	s.mu.Lock()
	s.tok = tok
	s.mu.Unlock()
}

type signedE2E struct {
	*e2e
	tokens *swappedTokens
	set    *mqtt.Client
	n      int
}

// startSignedE2E runs the bridge with the demo's signed-command setup:
// "Red Three" takes REST, "Blue Y" (asleep) is paired with the bridge's
// key, "Grey Y" requires signing and is not paired.
func startSignedE2E(t *testing.T) *signedE2E {
	t.Helper()
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
	cfg.Tesla.Domain = "example.com"
	tokens := &swappedTokens{tok: sim.MintToken(config.DefaultScopes, time.Hour)}
	_, ctx, sched, stopStack := e2eStack(t, &cfg, clock, srv.URL, wiring{tokens: tokens, signingKey: key})
	setter := mqtt.New(mqtt.Options{URL: url, ClientID: "e2e-signed-setter", Logger: zerolog.Nop()})
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if err := setter.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = setter.Close(context.Background()); stopStack() }) }
	t.Cleanup(stop)
	return &signedE2E{e2e: &e2e{sim: sim, clock: clock, sched: sched, w: w, stop: stop}, tokens: tokens, set: setter}
}

// chargeLimit sends set/charge_limit and returns the car's result.
func (e *signedE2E) chargeLimit(t *testing.T, vin string, percent int) map[string]any {
	t.Helper()
	e.n++
	tr := fmt.Sprintf("signed-%d", e.n)
	payload := fmt.Sprintf(`{"charge_limit": %d, "transaction": %q}`, percent, tr)
	if err := e.set.Publish("tesla2mqtt/"+vin+"/set", []byte(payload), false); err != nil {
		t.Fatal(err)
	}
	return e.w.waitJSON(t, "tesla2mqtt/"+vin+"/result", func(m map[string]any) bool { return m["transaction"] == tr })
}

func TestEndToEndSignedCommands(t *testing.T) {
	e := startSignedE2E(t)

	// At start, fleet_status filled the pairing entities.
	e.w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool {
		return m["key_paired"] == true && m["command_signing"] == "required"
	})
	e.w.waitJSON(t, "tesla2mqtt/"+greyY, func(m map[string]any) bool { return m["key_paired"] == false })

	// REST car.
	if r := e.chargeLimit(t, model3, 70); r["status"] != "ok" {
		t.Fatalf("REST car: %v", r)
	}
	if got := e.sim.Snapshot(model3).ChargeLimit; got != 70 {
		t.Errorf("Red Three charge limit = %v, want 70", got)
	}
	if c := e.sim.Counts(); c["signed_command"] != 0 {
		t.Errorf("the REST car cost %d signed_command calls", c["signed_command"])
	}

	// Signed, paired car: asleep, so the bridge wakes it first.
	r := e.chargeLimit(t, modelY, 75)
	if r["status"] != "ok" || r["woke"] != true {
		t.Fatalf("signed car: %v", r)
	}
	if got := e.sim.Snapshot(modelY).ChargeLimit; got != 75 {
		t.Errorf("Blue Y charge limit = %v, want 75", got)
	}
	if c := e.sim.Counts(); c["signed_command"] == 0 || c["command"] != 1 {
		t.Errorf("signed_command=%d command=%d; want signed calls and no REST try for Blue Y", c["signed_command"], c["command"])
	}

	// The token is refreshed and the old one expires: signed commands go on.
	e.tokens.set(e.sim.MintToken(config.DefaultScopes, 8*time.Hour))
	e.clock.Advance(90 * time.Minute)
	if r := e.chargeLimit(t, modelY, 77); r["status"] != "ok" {
		t.Fatalf("after token refresh: %v", r)
	}
	if got := e.sim.Snapshot(modelY).ChargeLimit; got != 77 {
		t.Errorf("Blue Y charge limit = %v after refresh, want 77", got)
	}

	// Signed car without our key: the car's words, the code and the link.
	before := e.sim.Snapshot(greyY).ChargeLimit
	if err := e.sim.SetVehicleState(greyY, fleet.StateOnline); err != nil {
		t.Fatal(err)
	}
	r = e.chargeLimit(t, greyY, 60)
	errObj, _ := r["error"].(map[string]any)
	if r["status"] != "error" || errObj == nil {
		t.Fatalf("unpaired car: %v", r)
	}
	if errObj["code"] != "key_not_paired" ||
		errObj["message"] != "vehicle rejected request: your public key has not been paired with the vehicle" ||
		errObj["url"] != "https://tesla.com/_ak/example.com?vin="+greyY ||
		errObj["remedy"] != "Open https://tesla.com/_ak/example.com on the phone with the Tesla app and approve the key in the car." {
		t.Errorf("unpaired car result error = %v", errObj)
	}
	if got := e.sim.Snapshot(greyY).ChargeLimit; got != before {
		t.Errorf("Grey Y charge limit changed to %v", got)
	}

	// The user pairs the key; the re-check after the failure notices it.
	e.sim.SetKeyPaired(greyY, true)
	e.clock.Advance(3 * time.Minute)
	e.sched.Fire("connectivity")
	e.w.waitJSON(t, "tesla2mqtt/"+greyY, func(m map[string]any) bool { return m["key_paired"] == true })
}

func TestEndToEndProtocolRequiredSwitch(t *testing.T) {
	e := startSignedE2E(t)
	e.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["key_paired"] == true })
	// Red Three started on REST; now it answers 403 "protocol required".
	if err := e.sim.Update(model3, func(v *fleetsim.VehicleSnapshot) { v.CommandSigning = "required" }); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCounts()
	if r := e.chargeLimit(t, model3, 66); r["status"] != "ok" {
		t.Fatalf("after 403: %v", r)
	}
	if got := e.sim.Snapshot(model3).ChargeLimit; got != 66 {
		t.Errorf("charge limit = %v, want 66", got)
	}
	c := e.sim.Counts()
	if c["command"] != 1 || c["signed_command"] == 0 {
		t.Errorf("command=%d signed_command=%d; want one refused REST try, then signed", c["command"], c["signed_command"])
	}
	// The next command goes signed at once.
	e.sim.ResetCounts()
	if r := e.chargeLimit(t, model3, 68); r["status"] != "ok" {
		t.Fatalf("second command: %v", r)
	}
	if c := e.sim.Counts(); c["command"] != 0 {
		t.Errorf("REST tried again (%d) after the switch", c["command"])
	}
}
