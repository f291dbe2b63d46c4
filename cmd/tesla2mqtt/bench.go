package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

// cmdBench runs `tesla2mqtt bench economy`: the reference day in fleetsim
// under the bridge's default policy and the peers' policies, as a table.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "scale" {
		return cmdBenchScale(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tesla2mqtt bench economy | tesla2mqtt bench scale [flags]\n\nbench economy replays a simulated reference day (one car, one Powerwall site) under the\nbridge's default polling policy and two peers' policies, and prints what each\ncosts and how fresh its data is.")
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() != 1 || fs.Arg(0) != "economy" {
		fs.Usage()
		return usageErr("bench: want the benchmark name \"economy\" or \"scale\"")
	}
	wall := clock.Real()
	start := wall.Now()
	rep, err := runEconomy(ctx)
	if err != nil {
		return err
	}
	rep.write(stdout)
	bursts, err := runBursts(ctx)
	if err != nil {
		return err
	}
	writeBursts(stdout, bursts)
	fmt.Fprintf(stdout, "\n(simulated day replayed in %s)\n", clock.Since(wall, start).Round(100*time.Millisecond))
	return nil
}

// Reference-day constants: the car sleeps 15 minutes after its last
// activity or read; the day starts on a Monday at midnight UTC.
var (
	benchDay        = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	benchSleepAfter = 15 * time.Minute
	benchVIN        = "5YJ3E1EA7PF000001"
	benchSite       = "1000000001"
	benchStep       = 500 * time.Millisecond
)

// benchCommand is one of the day's two user commands, sent at At.
type benchCommand struct {
	At           time.Duration
	Key, Payload string // bridge set topic key and payload
	Name         string // Fleet API command
	Params       map[string]any
}

// benchCommands: the charge limit set at 06:50 while the car sleeps (it
// must be woken) and the doors locked at 18:03, just after parking.
var benchCommands = []benchCommand{
	{At: 6*time.Hour + 50*time.Minute, Key: "charge_limit", Payload: "85", Name: "set_charge_limit", Params: map[string]any{"percent": 85}},
	{At: 18*time.Hour + 3*time.Minute, Key: "locked", Payload: "LOCK", Name: "door_lock"},
}

// benchEnv is one replay of the day: a fresh simulator on a manual clock,
// reached in-process (no sockets), and what the runs measure.
type benchEnv struct {
	clock  *clock.Manual
	sim    *fleetsim.Sim
	client *fleet.Client

	mu       sync.Mutex
	requests []fleet.Request
	lastBat  time.Time // last vehicle_data carrying charge_state
	lastLoc  time.Time // last vehicle_data carrying the location

	stale map[string][]float64 // "drive_battery", "drive_location", "charge_battery", "charge_location"
	// cmdWakes counts the wakes the day's commands caused.
	cmdWakes int
	// signals counts the streamed signals per Fleet Telemetry field.
	signals map[string]int
	// fwd also receives every request (the bridge's budget).
	fwd fleet.Recorder
	// cmdDone hears the bridge finish each command (OnCommandDone).
	cmdDone chan struct{}
	// wall bounds the waits for the bridge in real time.
	wall clock.Clock
	// gate, when set, holds command requests (bench_burst.go).
	gate *burstGate
}

func newBenchEnv() (*benchEnv, error) {
	e := &benchEnv{clock: clock.NewManual(benchDay), stale: map[string][]float64{}, signals: map[string]int{}, cmdDone: make(chan struct{}, 1), wall: clock.Real()}
	e.sim = fleetsim.New(fleetsim.Options{Clock: e.clock, SleepAfter: benchSleepAfter})
	if err := e.sim.RunScript(benchVIN, benchDay, fleetsim.ReferenceDay()); err != nil {
		return nil, err
	}
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.sim.MintToken(config.DefaultScopes, 72*time.Hour)})
	var err error
	e.client, err = fleet.New(fleet.Options{BaseURL: "http://fleetsim.invalid", TokenSource: tokens,
		HTTPClient: &http.Client{Transport: benchTransport{e}}, Recorder: e, Clock: e.clock, Logger: zerolog.Nop()})
	return e, err
}

// Record implements fleet.Recorder.
func (e *benchEnv) Record(r fleet.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r)
	fwd := e.fwd
	e.mu.Unlock()
	if fwd != nil {
		fwd.Record(r)
	}
}

// benchTransport serves the client's requests from the simulator in-process
// and notes when the car's battery level and location were last read.
type benchTransport struct{ e *benchEnv }

func (t benchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if g := t.e.gate; g != nil {
		g.wait(req)
	}
	rec := httptest.NewRecorder()
	t.e.sim.ServeHTTP(rec, req)
	if strings.HasSuffix(req.URL.Path, "/"+benchVIN+"/vehicle_data") && rec.Code == http.StatusOK {
		now := t.e.clock.Now()
		q := req.URL.RawQuery
		t.e.mu.Lock()
		if !strings.Contains(q, "endpoints=") || strings.Contains(q, "charge_state") {
			t.e.lastBat = now
		}
		if strings.Contains(q, "location_data") {
			t.e.lastLoc = now
		}
		t.e.mu.Unlock()
	}
	return rec.Result(), nil
}

// sample records, once per simulated second, how old the battery level and
// location are while the car drives or charges.
func (e *benchEnv) sample(now time.Time) {
	snap := e.sim.Snapshot(benchVIN)
	var kind string
	switch {
	case snap.ShiftState == "D" && snap.Speed > 0:
		kind = "drive"
	case snap.ChargingState == fleetsim.ChargingCharging:
		kind = "charge"
	default:
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	age := func(t time.Time) float64 {
		if t.IsZero() {
			return now.Sub(benchDay).Seconds()
		}
		return now.Sub(t).Seconds()
	}
	e.stale[kind+"_battery"] = append(e.stale[kind+"_battery"], age(e.lastBat))
	e.stale[kind+"_location"] = append(e.stale[kind+"_location"], age(e.lastLoc))
}

// loop steps the clock through the day: each step runs what is due (step),
// sends the commands on time (send) and samples staleness every second.
func (e *benchEnv) loop(step func(now time.Time), send func(c benchCommand) error) error {
	end := benchDay.Add(24 * time.Hour)
	cmds := append([]benchCommand(nil), benchCommands...)
	lastSample := time.Time{}
	for now := e.clock.Now(); now.Before(end); now = e.clock.Now() {
		step(now)
		if len(cmds) > 0 && !now.Before(benchDay.Add(cmds[0].At)) {
			before := e.sim.SleepStats(benchVIN).APIWakes
			if err := send(cmds[0]); err != nil {
				return err
			}
			e.cmdWakes += e.sim.SleepStats(benchVIN).APIWakes - before
			cmds = cmds[1:]
			continue
		}
		if now.Sub(lastSample) >= time.Second {
			e.sample(now)
			lastSample = now
		}
		e.clock.Advance(benchStep)
	}
	return nil
}

// ---- the bridge under test ----

// bridgeOptions are the bridge's options for a replay: cfg as run maps it,
// the bench's scheduler and clock, no discovery, and a budget that meters
// the day in memory (no state directory), fed like cmd's MultiRecorder
// feeds it in production.
func (e *benchEnv) bridgeOptions(cfg *config.Config) (bridge.Options, *schedule.Cron, error) {
	sched := schedule.NewCron(e.clock, time.UTC, zerolog.Nop()).Stepped()
	opts := bridgeOptions(cfg, wiring{scheduler: sched, clock: e.clock}, nil, zerolog.Nop())
	opts.Discovery, opts.MemoryPath = false, ""
	// The day goes on once a command has its result and its confirming read.
	opts.Hooks = append(opts.Hooks, benchDone{ch: e.cmdDone})
	bo := budgetOptions(cfg, wiring{clock: e.clock})
	bo.Path = ""
	var err error
	if opts.Budget, err = economy.NewBudget(bo); err != nil {
		return opts, nil, err
	}
	e.fwd = opts.Budget
	return opts, sched, nil
}

// benchDone steps the day on: a command has its result and its
// confirming read, and the car takes the next.
type benchDone struct {
	contract.HookBase
	ch chan<- struct{}
}

func (h benchDone) OnCommandDone(string, command.Result) { h.ch <- struct{}{} }

// newBenchPub is the in-memory MQTT of a replay: it routes the bench's set
// messages and telemetry to the bridge and keeps no log of what the bridge
// publishes.
func newBenchPub() *mqtttest.Router { return mqtttest.NewRouter(mqtttest.DropHistory()) }

// runBridgeDay replays the day under the bridge's default configuration.
func runBridgeDay(ctx context.Context) (_ *benchEnv, err error) {
	e, err := newBenchEnv()
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	run, err := e.startDefault(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := run.stop(); err == nil {
			err = rerr
		}
	}()
	return e, e.loop(run.sched.RunDue, e.sender(&cfg, run.pub))
}

// benchRun is a bridge the bench started: its in-memory MQTT, its
// stepped schedule and how to stop it.
type benchRun struct {
	pub   *mqtttest.Router
	sched *schedule.Cron
	stop  func() error
}

// startDefault builds the bridge for cfg on e's simulator and clock, as
// the rows without extra wiring need it, and runs it in the background.
func (e *benchEnv) startDefault(ctx context.Context, cfg *config.Config) (*benchRun, error) {
	opts, sched, err := e.bridgeOptions(cfg)
	if err != nil {
		return nil, err
	}
	pub := newBenchPub()
	b, err := bridge.New(opts, e.client, pub)
	if err != nil {
		return nil, err
	}
	stop, err := runBenchBridge(ctx, b, sched)
	if err != nil {
		return nil, err
	}
	return &benchRun{pub: pub, sched: sched, stop: stop}, nil
}

// pairAppKey makes the app's key for a row that signs (Bluetooth, the
// telemetry config) and registers its public half with the simulator.
func (e *benchEnv) pairAppKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := e.sim.SetAppPublicKey(fleet.PublicKeyPEM(key)); err != nil {
		return nil, err
	}
	return key, nil
}

// sender sends one of the day's commands and returns once the bridge has
// its result and its confirming read (OnCommandDone), so the day goes on
// deterministically.
func (e *benchEnv) sender(cfg *config.Config, pub *mqtttest.Router) func(c benchCommand) error {
	return func(c benchCommand) error {
		pub.Send(cfg.MQTT.BaseTopic+"/"+benchVIN+"/set/"+c.Key, c.Payload)
		// The bound is a guard against a bridge that never answers, not a
		// wait: the answer comes within the same simulated step.
		t := e.wall.NewTimer(time.Minute)
		defer t.Stop()
		select {
		case <-e.cmdDone:
			return nil
		case <-t.C():
			return fmt.Errorf("bench: no result for %s within a minute of real time", c.Key)
		}
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runBenchBridge runs the bridge in the background until stop is called and
// waits until its first reads are done; stop reports a panic the bridge raised.
func runBenchBridge(ctx context.Context, b *bridge.Bridge, sched *schedule.Cron) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var runErr error
	go func() { defer close(done); runErr = runGuarded("bench: the bridge", func() { _ = b.Run(ctx) }) }()
	stop = func() error { cancel(); <-done; return runErr }
	select {
	case <-sched.Started():
		return stop, nil
	case <-done:
		_ = stop()
		return nil, fmt.Errorf("bench: the bridge stopped before it started polling")
	}
}
