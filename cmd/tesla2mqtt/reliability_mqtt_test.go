package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

// relBroker starts a bare broker (no ACL) on addr.
func relBroker(t *testing.T, addr string) *broker.Broker {
	t.Helper()
	b := broker.New(broker.Options{Addr: addr, Logger: zerolog.Nop()})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// relClient is a connected client with its own id that records the
// messages of exact topics. It subscribes to no wildcard: mochi v2.7.9 reads
// a retained topic's path without its lock while scanning for a wildcard
// subscription (upstream issue #200), which the race detector reports when
// the bridge publishes retained messages at the same moment.
type relClient struct {
	*watcher
	c *mqtt.Client
}

func newRelClient(t *testing.T, url, id string, topics ...string) *relClient {
	t.Helper()
	w, c := dialWatcher(t, url, id, 100*time.Millisecond, topics...)
	return &relClient{watcher: w, c: c}
}

// waitRaw waits until topic carries exactly payload.
func (w *watcher) waitRaw(t *testing.T, topic, payload string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		w.mu.Lock()
		raw, ok := w.last[topic]
		w.mu.Unlock()
		if ok && string(raw) == payload {
			return
		}
		select {
		case <-w.notify:
		case <-deadline:
			t.Fatalf("%s never became %q (last %q)", topic, payload, raw)
		}
	}
}

// reset forgets everything seen so far.
func (w *watcher) reset() {
	w.mu.Lock()
	clear(w.last)
	w.mu.Unlock()
}

// After the broker restarts (retained messages lost, sessions gone) the
// bridge reconnects, resubscribes and republishes bridge/state,
// availability, discovery and state; set topics work again; and Home
// Assistant's birth message makes it republish discovery.
func TestBrokerRestartRepublishesEverything(t *testing.T) {
	b1 := relBroker(t, "127.0.0.1:0")
	addr := b1.Addr()
	url := "tcp://" + addr
	// The car's device config (device-based discovery, the default).
	cfgTopic := "homeassistant/device/tesla2mqtt_" + model3 + "/config"
	hasChargeLimit := func(m map[string]any) bool {
		cmps, _ := m["cmps"].(map[string]any)
		cl, _ := cmps["charge_limit"].(map[string]any)
		return cl != nil && cl["unique_id"] == "tesla2mqtt_"+model3+"_charge_limit"
	}
	topics := []string{"tesla2mqtt/bridge/state", "tesla2mqtt/" + model3 + "/availability", "tesla2mqtt/" + model3,
		cfgTopic, "tesla2mqtt/" + siteID, "tesla2mqtt/" + model3 + "/result"}
	before := newRelClient(t, url, "rel-before", topics...)
	e := relStart(t, url)
	before.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" })
	before.waitJSON(t, cfgTopic, hasChargeLimit)

	_ = b1.Close()
	relBroker(t, addr) // same port, empty: nothing retained
	w := newRelClient(t, url, "rel-after-restart", topics...)
	w.waitRaw(t, "tesla2mqtt/bridge/state", "online")
	w.waitRaw(t, "tesla2mqtt/"+model3+"/availability", "online")
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" && m["charge_limit"] != nil })
	w.waitJSON(t, cfgTopic, hasChargeLimit)
	w.waitJSON(t, "tesla2mqtt/"+siteID, func(m map[string]any) bool { return m["grid_status"] != nil })

	// Resubscribed: a set message after the restart runs.
	if err := w.c.Publish("tesla2mqtt/"+model3+"/set", []byte(`{"charge_limit":71,"transaction":"after-restart"}`), false); err != nil {
		t.Fatal(err)
	}
	w.waitJSON(t, "tesla2mqtt/"+model3+"/result", func(m map[string]any) bool {
		return m["transaction"] == "after-restart" && m["status"] == "ok"
	})

	// Home Assistant restarts: its birth message brings discovery back even
	// when the broker lost it.
	if err := w.c.Publish(cfgTopic, nil, true); err != nil {
		t.Fatal(err)
	}
	w.reset()
	pending := e.clock.Pending()
	if err := w.c.Publish("homeassistant/status", []byte("online"), false); err != nil {
		t.Fatal(err)
	}
	// The bridge waits BirthDelay (2–4 s) on its clock so that Home
	// Assistant has subscribed; the test moves the clock past it.
	if err := e.clock.BlockUntil(t.Context(), pending+1); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Second)
	w.waitJSON(t, cfgTopic, hasChargeLimit)
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" })
}

// A set message sent while the bridge is cut off is never executed later:
// the clean session makes the broker drop it instead of queueing it.
func TestSetWhileDisconnectedIsNotExecutedLater(t *testing.T) {
	b := relBroker(t, "127.0.0.1:0")
	direct := "tcp://" + b.Addr()
	px, err := mqtttest.NewProxy(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	obs := newRelClient(t, direct, "rel-observer", "tesla2mqtt/bridge/state", "tesla2mqtt/"+model3+"/result", "tesla2mqtt/"+model3)
	e := relStart(t, px.URL())
	obs.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" })
	obs.waitRaw(t, "tesla2mqtt/bridge/state", "online")
	before := e.sim.Counts()[fleet.CallCommand]
	limit := e.sim.Snapshot(model3).ChargeLimit

	px.SetDown(true) // the broker sees the bridge vanish: its will says offline
	obs.waitRaw(t, "tesla2mqtt/bridge/state", "offline")
	if err := obs.c.Publish("tesla2mqtt/"+model3+"/set/charge_limit", []byte("51"), false); err != nil {
		t.Fatal(err)
	}
	if err := obs.c.Publish("tesla2mqtt/"+model3+"/set", []byte(`{"charge_limit":52,"transaction":"stale"}`), false); err != nil {
		t.Fatal(err)
	}
	px.SetDown(false)
	obs.waitRaw(t, "tesla2mqtt/bridge/state", "online")

	// A fresh command after the reconnect is the first and only one to run:
	// messages of one connection arrive in order, so a queued stale one
	// would have produced its result first.
	if err := obs.c.Publish("tesla2mqtt/"+model3+"/set", []byte(`{"charge_limit":66,"transaction":"fresh"}`), false); err != nil {
		t.Fatal(err)
	}
	res := obs.waitJSON(t, "tesla2mqtt/"+model3+"/result", func(m map[string]any) bool { return m["transaction"] != nil })
	if res["transaction"] != "fresh" || res["status"] != "ok" {
		t.Fatalf("first result after the reconnect = %v, want the fresh command's", res)
	}
	if n := e.sim.Counts()[fleet.CallCommand] - before; n != 1 {
		t.Fatalf("%d commands reached the Fleet API, want 1 (the fresh one)", n)
	}
	if got := e.sim.Snapshot(model3).ChargeLimit; got != 66 {
		t.Fatalf("charge limit = %v (was %v), want 66", got, limit)
	}
}

// relStack is a running bridge against fleetsim, like startE2E but
// without its "#" watcher.
type relStack struct {
	sim   *fleetsim.Sim
	clock *clock.Manual
	stop  func()
}

func relStart(t *testing.T, brokerURL string) *relStack {
	t.Helper()
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.MQTT.URL = brokerURL
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})
	_, _, _, stop := e2eStack(t, &cfg, clock, srv.URL, wiring{tokens: tokens})
	return &relStack{sim: sim, clock: clock, stop: stop}
}
