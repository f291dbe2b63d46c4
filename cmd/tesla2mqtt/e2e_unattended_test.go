package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Issue 15, "unattended for months": end-to-end tests through MQTT on the
// simulator and the injected clock, one per case the issue lists.

// unattended is a running stack against fleetsim with a client that sends
// set and get messages.
type unattended struct {
	*e2e
	url    string
	srvURL string
	cfg    *config.Config
	send   *mqtt.Client
	n      int
}

// unattendedSetup tunes a stack before it starts: the simulator (faults,
// a signing key), the config, the wiring.
type unattendedSetup struct {
	simOpts func(*fleetsim.Options)
	sim     func(t *testing.T, s *fleetsim.Sim, w *wiring)
	cfg     func(*config.Config)
	// clock and sim, when set, are reused (a restart of the bridge).
	clock     *clock.Manual
	reuseSim  *fleetsim.Sim
	simURL    string
	brokerURL string
}

func startUnattended(t *testing.T, u unattendedSetup) *unattended {
	t.Helper()
	clk := u.clock
	if clk == nil {
		clk = clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	}
	sim, simURL := u.reuseSim, u.simURL
	if sim == nil {
		o := fleetsim.Options{Clock: clk}
		if u.simOpts != nil {
			u.simOpts(&o)
		}
		sim = fleetsim.New(o)
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		simURL = srv.URL
	}
	url := u.brokerURL
	if url == "" {
		url = testBroker(t)
	}
	w := newWatcher(t, url)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.MQTT.URL = url
	if u.cfg != nil {
		u.cfg(&cfg)
	}
	wr := wiring{tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})}
	if u.sim != nil {
		u.sim(t, sim, &wr)
	}
	_, ctx, sched, stopStack := e2eStack(t, &cfg, clk, simURL, wr)
	sender := mqtt.New(mqtt.Options{URL: url, ClientID: fmt.Sprintf("e2e-sender-%p", w), Logger: zerolog.Nop()})
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if err := sender.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = sender.Close(context.Background()); stopStack() }) }
	t.Cleanup(stop)
	return &unattended{e2e: &e2e{sim: sim, clock: clk, sched: sched, w: w, stop: stop}, url: url, srvURL: simURL, cfg: &cfg, send: sender}
}

// set publishes a set message with a fresh transaction and returns the
// result that answers it.
func (u *unattended) set(t *testing.T, device, payload string) map[string]any {
	t.Helper()
	u.n++
	tr := fmt.Sprintf("u-%d", u.n)
	body := fmt.Sprintf(`{%s, "transaction": %q}`, payload, tr)
	if err := u.send.Publish("tesla2mqtt/"+device+"/set", []byte(body), false); err != nil {
		t.Fatal(err)
	}
	return u.w.waitJSON(t, "tesla2mqtt/"+device+"/result", func(m map[string]any) bool { return m["transaction"] == tr })
}

func resultCode(r map[string]any) string {
	if e, ok := r["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

// putToSleep makes the simulator's car sleep and waits until the bridge's
// connectivity check published it.
func (u *unattended) putToSleep(t *testing.T, vin, state string) {
	t.Helper()
	if err := u.sim.SetVehicleState(vin, state); err != nil {
		t.Fatal(err)
	}
	u.sched.Fire("connectivity")
	u.w.waitJSON(t, "tesla2mqtt/"+vin, func(m map[string]any) bool { return m["state"] == state })
}

// An unpaired key, a car that needs signing with no key configured, and an
// offline car: each command answers at once with its code and woke:false,
// and no wake_up reaches Tesla.
func TestEndToEndNoFutileWakes(t *testing.T) {
	t.Run("key not paired", func(t *testing.T) {
		u := startUnattended(t, unattendedSetup{sim: func(t *testing.T, s *fleetsim.Sim, w *wiring) {
			key, err := s.SetupSignedDemo()
			if err != nil {
				t.Fatal(err)
			}
			w.signingKey = key
		}, cfg: func(c *config.Config) { c.Tesla.Domain = "example.com" }})
		u.w.waitJSON(t, "tesla2mqtt/"+greyY, func(m map[string]any) bool { return m["key_paired"] == false })
		u.putToSleep(t, greyY, fleet.StateAsleep)
		r := u.set(t, greyY, `"charge_limit": 60`)
		if resultCode(r) != "key_not_paired" || r["woke"] != false {
			t.Fatalf("result = %v, want key_not_paired without a wake", r)
		}
		if e := r["error"].(map[string]any); e["url"] != "https://tesla.com/_ak/example.com?vin="+greyY {
			t.Errorf("no pairing link: %v", e)
		}
		if n := u.sim.Counts()["wake_up"]; n != 0 {
			t.Errorf("%d wake_up requests for a car whose key is not paired", n)
		}
	})
	t.Run("no key configured", func(t *testing.T) {
		u := startUnattended(t, unattendedSetup{})
		// Blue Y sleeps and only takes signed commands; the bridge has no key.
		u.w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool {
			return m["state"] == "asleep" && m["command_signing"] == "required"
		})
		r := u.set(t, modelY, `"charge_limit": 60`)
		if resultCode(r) != "signing_required" || r["woke"] != false {
			t.Fatalf("result = %v, want signing_required without a wake", r)
		}
		if n := u.sim.Counts()["wake_up"]; n != 0 {
			t.Errorf("%d wake_up requests for a car the bridge cannot sign for", n)
		}
	})
	t.Run("offline", func(t *testing.T) {
		u := startUnattended(t, unattendedSetup{})
		u.putToSleep(t, model3, fleet.StateOffline)
		r := u.set(t, model3, `"charge_limit": 60`)
		if resultCode(r) != "vehicle_offline" || r["woke"] != false {
			t.Fatalf("result = %v, want vehicle_offline without a wake", r)
		}
		if n := u.sim.Counts()["wake_up"]; n != 0 {
			t.Errorf("%d wake_up requests for an offline car", n)
		}
		// Asleep rather than offline: the wake is worth it and is sent.
		u.putToSleep(t, model3, fleet.StateAsleep)
		if r := u.set(t, model3, `"charge_limit": 61`); r["status"] != "ok" || r["woke"] != true {
			t.Fatalf("asleep car: %v, want ok after a wake", r)
		}
	})
}

// A set or get for a name the bridge does not know answers on the name's
// result topic and on bridge/event, with the known names.
func TestEndToEndUnknownDevice(t *testing.T) {
	u := startUnattended(t, unattendedSetup{})
	r := u.set(t, "red_three", `"charge_limit": 60`)
	e, _ := r["error"].(map[string]any)
	remedy, _ := e["remedy"].(string)
	if resultCode(r) != "unknown_device" || !strings.HasPrefix(remedy, "use one of the bridge's device names: ") ||
		!strings.Contains(remedy, model3) || !strings.Contains(remedy, modelY) {
		t.Fatalf("result = %v", r)
	}
	ev := u.w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool { return m["type"] == "unknown_device" })
	if known, _ := ev["known_devices"].([]any); ev["code"] != "unknown_device" || ev["device"] != "red_three" || !slices.Contains(known, any(model3)) {
		t.Errorf("event = %v", ev)
	}
	if err := u.send.Publish("tesla2mqtt/blue_y/get", nil, false); err != nil {
		t.Fatal(err)
	}
	u.w.waitJSON(t, "tesla2mqtt/blue_y/result", func(m map[string]any) bool { return resultCode(m) == "unknown_device" })
}
