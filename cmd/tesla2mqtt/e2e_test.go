package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	model3 = "5YJ3E1EA7PF000001"
	modelY = "7SAYGDEE1PF000002"
	siteID = "1000000001"
)

// watcher is an MQTT client that remembers the last message per topic and
// wakes waiters on every message, so tests wait for messages, not for time.
type watcher struct {
	mu     sync.Mutex
	last   map[string][]byte
	notify chan struct{}
}

// e2eStack starts the bridge the way run wires it, against the simulator at
// simURL on clock, with a manual scheduler, and returns once its first reads
// are done. The caller's wiring brings the tokens (and a signing key);
// stop, also run at cleanup, shuts the stack down in order.
func e2eStack(t *testing.T, cfg *config.Config, clock *clock.Manual, simURL string, w wiring) (*stack, context.Context, *schedule.Manual, func()) {
	t.Helper()
	sched := schedule.NewManual()
	w.baseURL, w.scheduler, w.clock = simURL, sched, clock
	ctx, cancel := context.WithCancel(context.Background())
	st, err := startStack(ctx, cfg, w, e2eLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = st.run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	select {
	case <-sched.Started():
	case <-time.After(10 * time.Second):
		t.Fatal("bridge did not start")
	}
	return st, ctx, sched, stop
}

// runLate runs parts added to a stack that already runs (the status page
// of a test that needs the stack first) until ctx ends; the test waits for
// them at cleanup.
func runLate(t *testing.T, ctx context.Context, parts []component) {
	t.Helper()
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() { _ = p.Run(ctx) })
	}
	t.Cleanup(wg.Wait)
}

// testBroker starts a broker for one test and returns its URL. Tests that
// watch '#' subscribe before the bridge connects: mochi v2.7.9 reads
// retained topics without their lock while it answers a wildcard
// subscription (upstream #200), which -race reports when a retained publish
// happens at the same moment.
func testBroker(t *testing.T) string {
	t.Helper()
	b := broker.New(broker.Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return "tcp://" + b.Addr()
}

func newWatcher(t *testing.T, url string) *watcher {
	t.Helper()
	w, _ := dialWatcher(t, url, "e2e-watcher", 0, "#")
	return w
}

// dialWatcher connects a watcher client subscribed to topics; reconnect
// (0 = the client's default) is how fast it reconnects after a broker restart.
func dialWatcher(t *testing.T, url, id string, reconnect time.Duration, topics ...string) (*watcher, *mqtt.Client) {
	t.Helper()
	return dialWatcherWith(t, mqtt.Options{URL: url, ClientID: id, ReconnectInterval: reconnect}, topics...)
}

// dialWatcherWith connects a client with opts (its logger silenced),
// watching topics, and closes it at cleanup. Every test client that keeps
// the last message per topic starts here.
func dialWatcherWith(t *testing.T, opts mqtt.Options, topics ...string) (*watcher, *mqtt.Client) {
	t.Helper()
	w := &watcher{last: map[string][]byte{}, notify: make(chan struct{}, 1)}
	opts.Logger = zerolog.Nop()
	c := mqtt.New(opts)
	for _, topic := range topics {
		if err := c.Subscribe(topic, w.note); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return w, c
}

// waitJSON waits until topic carries a JSON object for which ok is true.
func (w *watcher) waitJSON(t *testing.T, topic string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		w.mu.Lock()
		raw := w.last[topic]
		w.mu.Unlock()
		if raw != nil {
			m := map[string]any{}
			if json.Unmarshal(raw, &m) == nil && ok(m) {
				return m
			}
		}
		select {
		case <-w.notify:
		case <-deadline:
			t.Fatalf("%s never satisfied the condition; last payload: %s", topic, raw)
		}
	}
}

func (w *watcher) get(topic string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[topic]
}

// e2e is a running bridge against fleetsim and an embedded broker on free ports.
type e2e struct {
	sim   *fleetsim.Sim
	clock *clock.Manual
	sched *schedule.Manual
	w     *watcher
	stop  func()
}

// entityDiscovery runs a stack with the per-entity discovery layout, whose
// goldens stay for Home Assistant before 2024.12.
func entityDiscovery(c *config.Config) { c.MQTT.DiscoveryMode = "entity" }

func startE2E(t *testing.T, brokerURL string, mods ...func(*config.Config)) *e2e {
	t.Helper()
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if brokerURL == "" {
		brokerURL = testBroker(t)
	}
	// The watcher subscribes before the bridge publishes anything (see testBroker).
	w := newWatcher(t, brokerURL)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.Broker.Addr = "127.0.0.1:0"
	cfg.MQTT.URL = brokerURL
	for _, m := range mods {
		m(&cfg)
	}
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})
	_, _, sched, stop := e2eStack(t, &cfg, clock, srv.URL, wiring{tokens: tokens})
	return &e2e{sim: sim, clock: clock, sched: sched, w: w, stop: stop}
}

func TestEndToEndStateAndDiscovery(t *testing.T) {
	buildVersion = "test"
	e := startE2E(t, "", entityDiscovery)
	car := e.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" })
	snap := e.sim.Snapshot(model3)
	if car["battery_level"] != float64(int(snap.BatteryLevel)) && car["battery_level"] != snap.BatteryLevel {
		t.Errorf("battery_level = %v, simulator has %v", car["battery_level"], snap.BatteryLevel)
	}
	if car["charging_state"] != "Charging" || car["charge_limit"] != 80.0 || car["locked"] != true {
		t.Errorf("car state = %v", car)
	}
	if _, ok := car["latitude"].(float64); !ok {
		t.Errorf("latitude = %v, want a number", car["latitude"])
	}
	y := e.w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool { return m["state"] == "asleep" })
	if y["battery_level"] != nil {
		t.Errorf("asleep car never read, but battery_level = %v", y["battery_level"])
	}
	site := e.w.waitJSON(t, "tesla2mqtt/"+siteID, func(m map[string]any) bool { return m["grid_status"] != nil })
	if site["grid_status"] != "Active" {
		t.Errorf("site = %v", site)
	}
	if string(e.w.get("tesla2mqtt/bridge/state")) != "online" {
		t.Errorf("bridge/state = %q", e.w.get("tesla2mqtt/bridge/state"))
	}

	// The sleeping car wakes by itself: the connectivity check sees it and it is read once.
	if err := e.sim.SetVehicleState(modelY, "online"); err != nil {
		t.Fatal(err)
	}
	e.sched.Fire("connectivity")
	y = e.w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool { return m["battery_level"] != nil })
	if y["state"] != "online" {
		t.Errorf("woken car state = %v", y["state"])
	}

	compareGolden(t, e.w, "vehicle", "homeassistant/", "tesla2mqtt_"+model3+"_")
	compareGolden(t, e.w, "site", "homeassistant/", "tesla2mqtt_"+siteID+"_")
}

func TestEndToEndShutdownLeavesOffline(t *testing.T) {
	b := broker.New(broker.Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	url := "tcp://" + b.Addr()
	e := startE2E(t, url)
	e.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" })
	e.stop()
	// A fresh client sees what is retained after the bridge is gone.
	w := newWatcher(t, url)
	deadline := time.After(5 * time.Second)
	for string(w.get("tesla2mqtt/bridge/state")) != "offline" || string(w.get("tesla2mqtt/"+model3+"/availability")) != "offline" {
		select {
		case <-w.notify:
		case <-deadline:
			t.Fatalf("after shutdown bridge/state = %q, availability = %q", w.get("tesla2mqtt/bridge/state"), w.get("tesla2mqtt/"+model3+"/availability"))
		}
	}
}

// compareGolden checks every discovery config of one device against
// testdata/golden/<name>.json, a map of topic to payload.
func compareGolden(t *testing.T, w *watcher, name, prefix, idPart string) {
	t.Helper()
	got := map[string]json.RawMessage{}
	w.mu.Lock()
	for topic, p := range w.last {
		if strings.HasPrefix(topic, prefix) && strings.Contains(topic, idPart) && len(p) > 0 {
			got[topic] = json.RawMessage(p)
		}
	}
	w.mu.Unlock()
	if len(got) == 0 {
		t.Fatalf("no discovery configs for %s", name)
	}
	topics := make([]string, 0, len(got))
	for k := range got {
		topics = append(topics, k)
	}
	sort.Strings(topics)
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/tesla2mqtt -run EndToEnd -update to create it)", err)
	}
	if !bytes.Equal(want, out) {
		t.Errorf("discovery for %s differs from %s (%d configs; run with -update if the change is intended)\n%s",
			name, path, len(topics), firstDiff(string(want), string(out)))
	}
}

// firstDiff shows the first differing line, enough to see what changed.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "lengths differ"
}

func e2eLogger() zerolog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return zerolog.New(os.Stderr).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}
