package main

import (
	"context"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// soakHoursEnv sets the soak's length in simulated hours; 168 is the week
// recorded in the README. The normal run soaks 11 hours (two rounds of
// faults), -short 6 (one round).
const soakHoursEnv = "TESLA2MQTT_SOAK_HOURS"

// The faults, one per simulated hour from hour 1, in turn.
const (
	faultBroker = "broker_restart"
	fault5xx    = "fleet_5xx_burst"
	fault429    = "fleet_429"
	faultToken  = "token" // one of the two below, in turn
	// faultTokenExpired: the access token runs out; the refresh token works.
	faultTokenExpired = "token_expired"
	// faultTokenRevoked: it runs out and the refresh token is dead: every
	// request fails until the user logs in again.
	faultTokenRevoked = "token_revoked"
	faultCarGone      = "car_gone"
)

var soakFaults = []string{faultBroker, fault5xx, fault429, faultToken, faultCarGone}

// soakStep is the clock's step; the bridge's jobs run on 1-minute specs.
const soakStep = 30 * time.Second

// soak is one run.
type soak struct {
	t     *testing.T
	clock *clock.Manual
	sim   *fleetsim.Sim
	srv   *soakServer
	sched *schedule.Cron
	cfg   *config.Config
	acct  *account
	tick  chan time.Time
	st    *stack
	brk   *broker.Broker
	obs   *soakObserver
	log   *soakLog
	base  string // <base>/<car>

	faults    map[string]int
	converge  map[string]time.Duration // slowest convergence per fault, simulated
	restarts  []time.Duration          // broker restart → bridge back, real time
	commands  int
	txs       []string
	cmdStatus map[string]int // results by status/error code
}

// TestSoak runs the bridge for simulated hours under a fault every hour
// (README, Reliability: the figures of the last week) and asserts what a
// user relies on: every command gets exactly one result, the state on MQTT
// converges to the car's after each fault before the next one, a car that
// leaves the account is removed and comes back, nothing panics, and
// goroutines and the live heap stay within a bound.
func TestSoak(t *testing.T) {
	hours := 11
	if testing.Short() {
		hours = 6
	}
	if v := os.Getenv(soakHoursEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 6 {
			t.Fatalf("%s=%q: want a number of hours, at least 6", soakHoursEnv, v)
		}
		hours = n
	}
	s := startSoak(t, hours)
	s.run(hours)
}

func startSoak(t *testing.T, hours int) *soak {
	t.Helper()
	s := &soak{t: t, clock: clock.NewManual(soakDay0), faults: map[string]int{}, converge: map[string]time.Duration{},
		cmdStatus: map[string]int{}, tick: make(chan time.Time), log: &soakLog{}}
	s.sim = fleetsim.New(fleetsim.Options{Clock: s.clock, SleepAfter: benchSleepAfter})
	if err := s.sim.RunScript(model3, soakDay0, soakWeekScript(hours/24+1)); err != nil {
		t.Fatal(err)
	}
	s.srv = newSoakServer(t, s.sim)
	s.brk = soakBroker(t, "127.0.0.1:0")
	t.Cleanup(func() { _ = s.brk.Close() })
	url := "tcp://" + s.brk.Addr()
	s.cfg = soakConfig(t.TempDir(), s.srv.srv.URL, url)
	s.base = s.cfg.MQTT.BaseTopic + "/" + model3
	s.obs = newSoakObserver(t, url, s.cfg.MQTT.BaseTopic+"/bridge/state", s.cfg.MQTT.BaseTopic+"/bridge/event",
		s.base, s.base+"/availability", s.base+"/result")

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := loginHeadless(ctx, loginParams{cfg: s.cfg, configPath: "soak", out: io.Discard, now: s.clock.Now}); err != nil {
		t.Fatalf("login: %v", err)
	}
	log := zerolog.New(s.log).Level(zerolog.WarnLevel)
	var err error
	if s.acct, err = openAccount(s.cfg, "soak", s.clock, log); err != nil {
		t.Fatal(err)
	}
	s.acct.tick = s.tick
	s.sched = schedule.NewCron(s.clock, time.UTC, zerolog.Nop()).Stepped()
	s.st, err = startStack(ctx, s.cfg, wiring{tokens: s.acct.ts, baseURL: s.srv.srv.URL, scheduler: s.sched,
		scopes: s.acct.tracker.granted, clock: s.clock, reconnect: 20 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	s.st.attach(s.acct)
	done := make(chan struct{})
	go func() { _ = s.st.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-s.sched.Started():
	case <-time.After(30 * time.Second):
		t.Fatal("the bridge did not start")
	}
	return s
}

// run steps the clock through the soak: a fault at the top of every hour
// from hour 1, its end, a command every third hour, and after each fault a
// check that the published state converges to the simulator's.
func (s *soak) run(hours int) {
	t := s.t
	wallStart := time.Now()
	end := soakDay0.Add(time.Duration(hours) * time.Hour)
	baseHour := len(soakFaults) + 1
	if hours <= baseHour {
		baseHour = 1
	}
	var (
		kind     string    // the fault of this hour
		curHour  = 0       // hour 0 runs without a fault
		clearAt  time.Time // when the fault ended (zero: still on)
		clearFn  func(now time.Time) bool
		settled  = true // converged since the last fault
		cmdAt    time.Time
		baseG    int
		baseHeap uint64
	)
	for now := s.clock.Now(); now.Before(end); now = s.clock.Now() {
		if hour := int(now.Sub(soakDay0) / time.Hour); hour != curHour {
			curHour = hour
			if !settled {
				t.Fatalf("%s: the state did not converge after the %s fault: %s", now.Format(time.DateTime), kind, s.obs.lastState(s.base))
			}
			// The baseline: after one round of faults and a command, so that
			// what each creates once (connections, pools) is in it; a short
			// soak has only the warm-up hour before it.
			if hour == baseHour {
				baseG, baseHeap = soakFigures()
			}
			kind = s.faultOf(hour)
			if kind == faultToken {
				kind = faultTokenExpired
				if s.faults[faultTokenExpired] > s.faults[faultTokenRevoked] {
					kind = faultTokenRevoked
				}
			}
			s.faults[kind]++
			clearAt, settled = time.Time{}, false
			clearFn = s.inject(kind, now)
			top := soakDay0.Add(time.Duration(hour) * time.Hour)
			cmdAt = time.Time{}
			if hour%3 == 0 {
				cmdAt = top.Add(10 * time.Minute)
				if kind == faultCarGone {
					cmdAt = top.Add(50 * time.Minute)
				}
			}
		}
		if clearAt.IsZero() && clearFn != nil && clearFn(now) {
			clearAt = now
		}
		if !cmdAt.IsZero() && !now.Before(cmdAt) {
			s.command()
			cmdAt = time.Time{}
		}
		reads := s.srv.reads()
		s.sched.RunDue(now)
		if !clearAt.IsZero() && !settled {
			wait := time.Duration(0)
			if s.srv.reads() != reads {
				wait = 2 * time.Second
			}
			if s.converged(wait) {
				settled = true
				s.converge[kind] = max(s.converge[kind], s.clock.Now().Sub(clearAt))
			}
		}
		s.clock.Advance(soakStep)
	}
	if !settled {
		t.Fatalf("the state did not converge after the last fault (%s): %s", kind, s.obs.lastState(s.base))
	}
	finalG, finalHeap := soakFigures()
	s.report(hours, time.Since(wallStart), baseG, finalG, baseHeap, finalHeap)
}

func (s *soak) faultOf(hour int) string {
	if hour < 1 {
		return ""
	}
	return soakFaults[(hour-1)%len(soakFaults)]
}

// soakFigures returns the goroutines and the live heap after a collection.
func soakFigures() (int, uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// converged: the bridge is online, the car available, and its published
// state shows the simulator's car now.
func (s *soak) converged(wait time.Duration) bool {
	snap := s.sim.Snapshot(model3)
	return s.obs.wait(wait, func(o *soakObserver) bool {
		return string(o.last[s.cfg.MQTT.BaseTopic+"/bridge/state"]) == "online" &&
			string(o.last[s.base+"/availability"]) == "online" && soakMatches(o.json(s.base), snap)
	})
}

func (o *soakObserver) lastState(topic string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.last[topic])
}

func (s *soak) report(hours int, wall time.Duration, g0, g1 int, h0, h1 uint64) {
	t := s.t
	results, dup := 0, 0
	s.obs.mu.Lock()
	for _, tx := range s.txs {
		n := len(s.obs.result[tx])
		results += n
		if n != 1 {
			dup++
			t.Errorf("command %s got %d results", tx, n)
		}
	}
	s.obs.mu.Unlock()
	exchanges, refreshes := s.sim.AuthStats()
	t.Logf("soak: %d simulated hours in %s; faults %v; commands %d, results %d; slowest convergence %v; broker restart → bridge back median %s, max %s (real); "+
		"results by status %v; logins %d, refreshes %d; goroutines %d → %d; heap %.1f → %.1f MiB; %d warning/error lines, %d panics; Fleet answers 5xx %d, 429 %d",
		hours, wall.Round(time.Second), s.faults, s.commands, results, s.converge, soakMedian(s.restarts), slices.Max(append(s.restarts, 0)).Round(time.Millisecond),
		s.cmdStatus, exchanges, refreshes, g0, g1, float64(h0)/(1<<20), float64(h1)/(1<<20), s.log.lines.Load(), s.log.panics.Load(),
		s.srv.count(500, 599), s.srv.count(429, 429))
	if rm, add := s.events(contract.EventDeviceRemoved), s.events(contract.EventDeviceAdded); rm != s.faults[faultCarGone] || add != rm {
		t.Errorf("%d device_removed and %d device_added events for %d absences", rm, add, s.faults[faultCarGone])
	}
	s.log.mu.Lock()
	t.Logf("log lines by message: %v", s.log.byMsg)
	s.log.mu.Unlock()
	if n := s.log.panics.Load(); n > 0 {
		t.Errorf("%d panics reported, the first: %s", n, s.log.firstPanic)
	}
	if g1 > g0+soakGoroutineMargin {
		t.Errorf("goroutines grew from %d to %d (margin %d)", g0, g1, soakGoroutineMargin)
	}
	if h1 > h0+soakHeapMargin {
		t.Errorf("live heap grew from %d to %d bytes (margin %d)", h0, h1, soakHeapMargin)
	}
}

// soakMedian returns the median duration, rounded.
func soakMedian(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[len(c)/2].Round(time.Millisecond)
}

// The growth allowed between the end of the first round of faults and the
// end of the soak: idle keep-alive connections and timers come and go, a
// leak per fault or command does not fit (a week has 33 of each fault).
const (
	soakGoroutineMargin = 8
	soakHeapMargin      = 4 << 20
)
