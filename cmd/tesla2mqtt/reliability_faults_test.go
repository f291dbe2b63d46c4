package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// relLog collects log lines, safe for concurrent writers.
type relLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *relLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, s)
	}
	return len(p), nil
}

func (l *relLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines[n:]...)
}

func (l *relLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// relMangler rewrites vehicle_data answers for the faults fleetsim cannot
// make itself: an oversized body, a missing block, a field of another type.
type relMangler struct {
	sim  http.Handler
	mode atomic.Value // string
}

func (m *relMangler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := m.mode.Load().(string)
	if mode == "" || !strings.HasSuffix(r.URL.Path, "/vehicle_data") {
		m.sim.ServeHTTP(w, r)
		return
	}
	m.mode.Store("")
	rec := httptest.NewRecorder()
	m.sim.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var doc map[string]map[string]any
	_ = json.Unmarshal(body, &doc)
	switch mode {
	case "oversized":
		body = append([]byte(`{"response":{"padding":"`), bytes.Repeat([]byte("x"), fleet.DefaultMaxBodyBytes+1)...)
		body = append(body, `"}}`...)
	case "missing_block":
		delete(doc["response"], "charge_state")
		body, _ = json.Marshal(doc)
	case "wrong_type":
		cs := doc["response"]["charge_state"].(map[string]any)
		cs["battery_level"] = "eighty"
		body, _ = json.Marshal(doc)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// Every Fleet API fault on one car's vehicle_data: one log line, the last
// good value stays published, and the energy site's next read still works.
func TestFleetFaultsKeepLastValues(t *testing.T) {
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	mangler := &relMangler{sim: sim}
	srv := httptest.NewServer(mangler)
	t.Cleanup(srv.Close)
	logs := &relLog{}
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.Broker.Addr = "127.0.0.1:0"
	cfg.Tesla.Timeout = "300ms"
	sched := schedule.NewManual()
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 240*time.Hour)})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := startStack(ctx, &cfg, wiring{tokens: tokens, baseURL: srv.URL, scheduler: sched, clock: clock},
		zerolog.New(logs).Level(zerolog.InfoLevel))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	carTopic, siteTopic := "tesla2mqtt/"+model3, "tesla2mqtt/"+siteID
	w := newRelClient(t, "tcp://"+st.BrokerAddr, "rel-faults", carTopic, siteTopic)
	done := make(chan struct{})
	go func() { _ = st.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-sched.Started()
	w.waitJSON(t, carTopic, func(m map[string]any) bool { return m["battery_level"] != nil })

	round := 0
	// read sets the car's battery to level, fires the car's and the site's
	// jobs, and returns the car's published battery level once the site's
	// new value (published after the car's) has arrived.
	read := func(level float64) any {
		round++
		clock.Advance(10 * time.Minute)
		_ = sim.Update(model3, func(s *fleetsim.VehicleSnapshot) { s.BatteryLevel, s.ChargeLimit = level, 100 })
		marker := float64(10 + round)
		_ = sim.UpdateSite(1000000001, func(s *fleetsim.SiteSnapshot) { s.PercentageCharged = marker })
		for _, job := range []string{"vehicle_data_driving", "vehicle_data_charging", "vehicle_data_idle", "live_status"} {
			sched.Fire(job)
		}
		w.waitJSON(t, siteTopic, func(m map[string]any) bool {
			f, ok := m["battery_level"].(float64)
			return ok && math.Abs(f-marker) < 1
		})
		w.mu.Lock()
		raw := w.last[carTopic]
		w.mu.Unlock()
		m := map[string]any{}
		_ = json.Unmarshal(raw, &m)
		return m["battery_level"]
	}
	good := 60.0
	if got := read(good); got != good {
		t.Fatalf("first read: battery_level = %v, want %v", got, good)
	}
	faults := []struct {
		name   string
		inject func()
		// keep: the last good battery level stays (false: the read works).
		keep bool
	}{
		{"503", func() { sim.FailNext(fleet.CallVehicleData, 503, 1) }, true},
		{"500", func() { sim.FailNext(fleet.CallVehicleData, 500, 1) }, true},
		{"429 with Retry-After", func() { sim.FailNext(fleet.CallVehicleData, 429, 1) }, true},
		{"timeout", func() { sim.SetLatency(fleet.CallVehicleData, 2*time.Second) }, true},
		{"truncated JSON", func() { sim.SetMalformed(fleet.CallVehicleData, 1) }, true},
		{"oversized body", func() { mangler.mode.Store("oversized") }, true},
		{"missing charge_state", func() { mangler.mode.Store("missing_block") }, true},
		{"battery_level of another type", func() { mangler.mode.Store("wrong_type") }, true},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			f.inject()
			n := logs.len()
			got := read(good + 7)
			sim.SetLatency(fleet.CallVehicleData, 0)
			if f.keep && got != good {
				t.Errorf("after %s battery_level = %v, want the last good %v", f.name, got, good)
			}
			var lines []string
			for _, l := range logs.since(n) {
				if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Errorf("%s logged %d warning lines, want 1:\n%s", f.name, len(lines), strings.Join(lines, "\n"))
			}
			// Recovery: the next read publishes the new value.
			good++
			if got := read(good); got != good {
				t.Errorf("after %s the next good read published %v, want %v", f.name, got, good)
			}
		})
	}
}
