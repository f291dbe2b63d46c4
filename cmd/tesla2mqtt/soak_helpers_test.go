package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// The soak's machinery: the bridge as `run` wires it (token file, token
// source and its watcher, the real MQTT client) against fleetsim behind a
// counting HTTP server and an embedded broker that the soak restarts; the
// bench's scheduler fires the jobs as the manual clock reaches them.

// soakDay0 is the soak's first midnight; the car lives the reference day
// every day from then on.
var soakDay0 = clocktest.Start(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))

// soakWeekScript is the reference day repeated: day 0 starts from its
// night state, later days go on from wherever the car is.
func soakWeekScript(days int) []fleetsim.ScriptEvent {
	var out []fleetsim.ScriptEvent
	for d := range days {
		for _, ev := range fleetsim.ReferenceDay() {
			if d > 0 && ev.At == 0 {
				continue
			}
			ev.At += time.Duration(d) * 24 * time.Hour
			out = append(out, ev)
		}
	}
	return out
}

// soakServer serves fleetsim over HTTP and counts what it answered: statuses,
// and the car's successful vehicle_data reads.
type soakServer struct {
	sim      *fleetsim.Sim
	srv      *httptest.Server
	mu       sync.Mutex
	statuses map[int]int
	carReads int
}

func newSoakServer(t *testing.T, sim *fleetsim.Sim) *soakServer {
	s := &soakServer{sim: sim, statuses: map[int]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		s.mu.Lock()
		s.statuses[rec.Code]++
		if rec.Code == http.StatusOK && strings.HasSuffix(r.URL.Path, "/"+model3+"/vehicle_data") {
			s.carReads++
		}
		s.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// count returns how many answers had a status in [lo, hi].
func (s *soakServer) count(lo, hi int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for code, c := range s.statuses {
		if code >= lo && code <= hi {
			n += c
		}
	}
	return n
}

func (s *soakServer) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.carReads
}

// soakObserver is Home Assistant's side: an MQTT client on exact topics (no
// wildcard, see relClient) that keeps the last message per topic, every
// live (not retained) command result and every bridge event.
type soakObserver struct {
	c      *mqtt.Client
	mu     sync.Mutex
	last   map[string][]byte
	result map[string][]map[string]any // by transaction
	events []map[string]any
	notify chan struct{}
}

func newSoakObserver(t *testing.T, url string, topics ...string) *soakObserver {
	t.Helper()
	o := &soakObserver{last: map[string][]byte{}, result: map[string][]map[string]any{}, notify: make(chan struct{}, 1)}
	o.c = mqtt.New(mqtt.Options{URL: url, ClientID: "soak-observer", ReconnectInterval: 50 * time.Millisecond, Logger: zerolog.Nop()})
	for _, topic := range topics {
		if err := o.c.Subscribe(topic, o.handle); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.c.Close(context.Background()) })
	return o
}

func (o *soakObserver) handle(m mqtt.Message) {
	o.mu.Lock()
	o.last[m.Topic] = append([]byte(nil), m.Payload...)
	if !m.Retained && (strings.HasSuffix(m.Topic, "/result") || strings.HasSuffix(m.Topic, "/bridge/event")) {
		var v map[string]any
		if json.Unmarshal(m.Payload, &v) == nil {
			if strings.HasSuffix(m.Topic, "/result") {
				tx, _ := v["transaction"].(string)
				o.result[tx] = append(o.result[tx], v)
			} else {
				o.events = append(o.events, v)
			}
		}
	}
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// forget drops the last messages (not results or events), so that what is
// seen next was published again.
func (o *soakObserver) forget() {
	o.mu.Lock()
	clear(o.last)
	o.mu.Unlock()
}

// wait waits up to d of real time until ok holds for what was received.
func (o *soakObserver) wait(d time.Duration, ok func(o *soakObserver) bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		good := ok(o)
		o.mu.Unlock()
		if good {
			return true
		}
		select {
		case <-o.notify:
		case <-deadline.C:
			return false
		}
	}
}

// json decodes the last message on topic; callers hold o.mu (inside wait).
func (o *soakObserver) json(topic string) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(o.last[topic], &m)
	return m
}

// soakMatches tells whether a published car state shows the simulator's
// car: its state, battery level (as fleetsim reports it, whole percent) and
// charge limit. An asleep car may still have no values at all: a car that
// came back to the account while asleep is not woken to be read.
func soakMatches(st map[string]any, snap fleetsim.VehicleSnapshot) bool {
	if st["state"] != snap.State {
		return false
	}
	if snap.State == "asleep" && st["battery_level"] == nil && st["charge_limit"] == nil {
		return true
	}
	bat, _ := st["battery_level"].(float64)
	lim, _ := st["charge_limit"].(float64)
	return bat == math.Floor(snap.BatteryLevel) && lim == snap.ChargeLimit
}

// soakBroker starts a bare embedded broker on addr. The soak closes the
// last one after the bridge has stopped, so that the bridge's goodbye
// reaches it.
func soakBroker(t *testing.T, addr string) *broker.Broker {
	t.Helper()
	b := broker.New(broker.Options{Addr: addr, Logger: zerolog.Nop()})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return b
}

// soakConfig is the soak's configuration: the defaults, the simulator's app
// and account, and the product list every 10 minutes so that a car that
// leaves is removed (two lists without it) within the hour.
func soakConfig(dir, simURL, brokerURL string) *config.Config {
	cfg := config.Default()
	cfg.StateDir = dir
	cfg.MQTT.URL = brokerURL
	cfg.Tesla.ClientID, cfg.Tesla.ClientSecret = fleetsim.ClientID, "fleetsim-secret"
	cfg.Tesla.APIBaseURL, cfg.Tesla.AuthBaseURL = simURL, simURL
	cfg.Tesla.RedirectURI = "http://127.0.0.1:8099/callback"
	cfg.Schedule.Products = "@every 10m"
	cfg.Budget.MonthlyUSD = 1000 // the soak is not about the budget
	return &cfg
}

// soakLog counts the bridge's warning and error lines, and those that
// report a recovered panic.
type soakLog struct {
	lines, panics atomic.Int64
	mu            sync.Mutex
	firstPanic    string
	byMsg         map[string]int
}

func (l *soakLog) Write(p []byte) (int, error) {
	l.lines.Add(1)
	var line struct{ Message string }
	if json.Unmarshal(p, &line) == nil {
		l.mu.Lock()
		if l.byMsg == nil {
			l.byMsg = map[string]int{}
		}
		l.byMsg[line.Message]++
		l.mu.Unlock()
	}
	if bytes.Contains(p, []byte("panic")) {
		if l.panics.Add(1) == 1 {
			l.mu.Lock()
			l.firstPanic = string(p)
			l.mu.Unlock()
		}
	}
	return len(p), nil
}

var _ io.Writer = (*soakLog)(nil)
