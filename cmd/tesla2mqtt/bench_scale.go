package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// scaleParams are the flags of `bench scale`.
type scaleParams struct {
	cars, sites int
	latency     time.Duration
	// duration is the length of the idle window and of the steady window.
	duration time.Duration
	// mqttURL, when set, is an external broker instead of the embedded one.
	mqttURL, mqttUser, mqttPass string
	// cpuProfile and memProfile are files for pprof ("" = none).
	cpuProfile, memProfile string
	// limit bounds each wait for the bridge (a guard, not a delay).
	limit time.Duration
	log   zerolog.Logger
}

// pollJobs are the jobs of one polling round: the connectivity check, the
// vehicle_data job of every car state, and the sites' live status.
var pollJobs = []string{"connectivity", "vehicle_data_driving", "vehicle_data_charging", "vehicle_data_idle", "live_status"}

// cmdBenchScale runs `tesla2mqtt bench scale`.
func cmdBenchScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench scale", "usage: tesla2mqtt bench scale [flags]\n\nRuns the real daemon (the wiring of run and demo) against the Fleet API\nsimulator holding --cars cars and --sites energy sites, each API request\ndelayed by --latency, through a real MQTT broker, and prints what start-up,\na polling round and a Home Assistant restart take, memory, idle CPU and MQTT\ntraffic. See README \"Performance\".", stderr)
	p := scaleParams{}
	fs.IntVar(&p.cars, "cars", 100, "simulated cars (4 in 10 asleep, 2 charging, 1 driving, 3 parked and awake)")
	fs.IntVar(&p.sites, "sites", 10, "simulated energy sites")
	fs.DurationVar(&p.latency, "latency", 0, "added to every Fleet API request, e.g. 50ms")
	fs.DurationVar(&p.duration, "duration", time.Minute, "length of the idle window and of the steady-state window (0 skips both)")
	fs.StringVar(&p.mqttURL, "mqtt-url", "", "use this broker instead of the embedded one (it keeps the run's retained messages)")
	fs.StringVar(&p.mqttUser, "mqtt-username", "", "username for --mqtt-url")
	fs.StringVar(&p.mqttPass, "mqtt-password", "", "password for --mqtt-url")
	fs.StringVar(&p.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.StringVar(&p.memProfile, "memprofile", "", "write a heap profile, taken after the polling round, to this file")
	fs.DurationVar(&p.limit, "timeout", 15*time.Minute, "give up on a phase after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if p.cars < 0 || p.sites < 0 || p.cars+p.sites == 0 {
		return usageErr("bench scale: want --cars and --sites >= 0, not both 0")
	}
	p.log = newLogger(stderr, "error", "console")
	rep, err := runScale(ctx, p)
	if err != nil {
		return err
	}
	rep.write(stdout)
	return nil
}

// scaleRun is one run's moving parts.
type scaleRun struct {
	p     scaleParams
	wall  clock.Clock
	t0    time.Time
	sim   *fleetsim.Sim
	cfg   config.Config
	sched *benchScheduler
	st    *stack
	obs   *scaleObserver
	rep   *scaleReport
	// startState and startRead track start-up: every device's first
	// state, every online car's and site's first read.
	startState, startRead *tracker
	// served notes when the simulator answered each device's last read.
	served *servedReads
}

// runScale sets up simulator, daemon and observer, runs the phases and
// tears everything down.
func runScale(ctx context.Context, p scaleParams) (_ *scaleReport, err error) {
	if p.limit <= 0 {
		p.limit = 15 * time.Minute
	}
	// The heap shares come from the heap profile. At the default rate, one
	// sample per 512 KiB, a small run's daemon (a MiB or two) was now and
	// then not sampled at all and reported as 0. The run starts with only
	// this goroutine allocating, so the rate changes before anything the
	// shares count is allocated.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 16 << 10
	r := &scaleRun{p: p, wall: clock.Real(), rep: &scaleReport{Cars: p.cars, Sites: p.sites, Latency: p.latency,
		Duration: p.duration, Broker: "embedded", HeapShares: map[string]int64{}}}
	if p.mqttURL != "" {
		r.rep.Broker = "external"
	}
	if p.cpuProfile != "" {
		f, err := os.Create(p.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSim, err := r.startSim()
	if err != nil {
		return nil, err
	}
	defer stopSim()
	dir, err := os.MkdirTemp("", "tesla2mqtt-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	done, err := r.startDaemon(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		cancel()
		if rerr := <-done; err == nil {
			err = rerr
		}
		r.st.shutdown(context.Background())
		r.obs.close()
	}()
	for _, phase := range []func(context.Context) error{r.startup, r.round, r.memory, r.birth, r.idle, r.steady} {
		if err := phase(ctx); err != nil {
			return nil, err
		}
	}
	return r.rep, nil
}

// startSim serves a generated fleet on loopback with the latency injected.
func (r *scaleRun) startSim() (stop func(), err error) {
	r.sim = fleetsim.New(fleetsim.Options{Clock: r.wall, Wall: r.wall, Vehicles: r.p.cars, EnergySites: r.p.sites})
	if r.p.latency > 0 {
		r.sim.SetLatency(fleetsim.AnyEndpoint, r.p.latency)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.served = &servedReads{at: map[string]time.Time{}, wall: r.wall}
	srv := &http.Server{Handler: r.served.wrap(r.sim), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer recoverTo(r.p.log, "bench simulator")
		_ = srv.Serve(ln)
	}()
	r.cfg = config.Default()
	r.cfg.Tesla.APIBaseURL = "http://" + ln.Addr().String()
	return func() { _ = srv.Close() }, nil
}

// startDaemon starts the stack as run does, the observer, then the bridge;
// done receives Run's outcome.
func (r *scaleRun) startDaemon(ctx context.Context, dir string) (<-chan error, error) {
	cfg := &r.cfg
	cfg.StateDir = dir
	// No budget: at a thousand cars the default $10 a month would stretch
	// polling, and the bench measures the machinery, not the policy.
	cfg.Budget.MonthlyUSD = 0
	if r.p.mqttURL != "" {
		cfg.MQTT.URL, cfg.MQTT.Username, cfg.MQTT.Password = r.p.mqttURL, r.p.mqttUser, r.p.mqttPass
		// Topics of this run's own, so no retained message of another run
		// or program mixes in; the run's own stay behind on that broker.
		run := rand.Text()[:8]
		cfg.MQTT.BaseTopic, cfg.MQTT.DiscoveryPrefix = "tesla2mqtt-bench-"+run, "tesla2mqtt-bench-ha-"+run
	} else {
		cfg.Broker.Addr = "127.0.0.1:0"
	}
	r.sched = newBenchScheduler(r.p.log)
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: r.sim.MintToken(config.DefaultScopes, 72*time.Hour)})
	r.t0 = r.wall.Now()
	cpu0 := cpuTime()
	st, err := startStack(ctx, cfg, wiring{tokens: tokens, baseURL: cfg.Tesla.APIBaseURL, scheduler: r.sched}, r.p.log)
	if err != nil {
		return nil, err
	}
	r.st = st
	// Connect has returned: bridge/state "online" is published and acknowledged.
	r.rep.Online = clock.Since(r.wall, r.t0)
	url := cfg.MQTT.URL
	if url == "" {
		url = "tcp://" + st.BrokerAddr
	}
	r.obs = newScaleObserver(url, cfg.MQTT.Username, cfg.MQTT.Password, cfg.MQTT.BaseTopic, cfg.MQTT.DiscoveryPrefix)
	if err := r.obs.start(ctx); err != nil {
		st.shutdown(ctx)
		return nil, fmt.Errorf("bench scale: observer: %w", err)
	}
	r.rep.startCPU = cpu0
	// The trackers exist before the bridge publishes its first device.
	all, read := r.names()
	r.startState, r.startRead = r.obs.track(trackState, all), r.obs.track(trackRead, read)
	done := make(chan error, 1)
	go func() {
		done <- runGuarded("bench: the bridge", func() { _ = st.bridge.Run(ctx) })
	}()
	return done, nil
}

// names returns the topic names of all devices, and of those a round reads
// (online cars, every site).
func (r *scaleRun) names() (all, read []string) {
	states := r.sim.VehicleStates()
	for _, vin := range r.sim.VINs() {
		all = append(all, vin)
		if states[vin] == fleet.StateOnline {
			read = append(read, vin)
		}
	}
	for _, id := range r.sim.SiteIDs() {
		s := strconv.FormatInt(id, 10)
		all, read = append(all, s), append(read, s)
	}
	return all, read
}

// startup waits for every device's first state, and for every online car
// and site to be published with a read.
func (r *scaleRun) startup(ctx context.Context) error {
	ts, tr := r.startState, r.startRead
	if err := r.obs.waitAll(ctx, r.p.limit, "start-up", ts, tr); err != nil {
		return err
	}
	_, last, _ := r.obs.result(ts)
	r.rep.FirstState = last.Sub(r.t0)
	_, last, _ = r.obs.result(tr)
	r.rep.FirstRead = last.Sub(r.t0)
	select {
	case <-r.sched.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.rep.StartupDone = clock.Since(r.wall, r.t0)
	r.rep.StartupMsgs, r.rep.StartupBytes = r.obs.counts()
	r.rep.StartupCPU = cpuTime() - r.rep.startCPU
	return nil
}

// round fires one polling round with the schedule held. It ends when the
// jobs have returned, every online car and site has been read (as the
// simulator saw it), and what the bridge published about them has reached
// the observer. A read that changed nothing may publish nothing (state is
// compared before it is sent), so the round counts republished devices
// rather than waiting for each.
func (r *scaleRun) round(ctx context.Context) error {
	r.sched.held.Store(true)
	_, read := r.names()
	r.rep.RoundDevices = len(read)
	m0, b0 := r.obs.counts()
	c0 := cpuTime()
	tr := r.obs.track(trackState, read)
	start := r.wall.Now()
	if err := r.sched.fire(pollJobs); err != nil {
		return err
	}
	r.rep.RoundJobs = clock.Since(r.wall, start)
	if err := r.obs.barrier(ctx, r.p.limit); err != nil {
		return err
	}
	_, last, missing := r.obs.result(tr)
	n, lastRead := r.served.since(read, start)
	r.rep.RoundRead, r.rep.RoundPublished = n, len(read)-missing
	end := last
	if lastRead.After(end) {
		end = lastRead
	}
	r.rep.Round = max(end.Sub(start), r.rep.RoundJobs)
	m1, b1 := r.obs.counts()
	r.rep.RoundMsgs, r.rep.RoundBytes = m1-m0, b1-b0
	r.rep.RoundCPU = cpuTime() - c0
	return nil
}

// memory samples RSS and the live heap with everything loaded.
func (r *scaleRun) memory(context.Context) error {
	r.rep.Heap = liveHeap()
	r.rep.HeapShares = heapShares()
	r.rep.RSS, r.rep.PeakRSS = procStatus()
	if r.p.memProfile == "" {
		return nil
	}
	f, err := os.Create(r.p.memProfile)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// birth plays Home Assistant coming back: it publishes the birth message
// and waits until every discovery config and every device's state has
// been published again.
func (r *scaleRun) birth(ctx context.Context) error {
	all, _ := r.names()
	topics := r.obs.discoverySnapshot()
	for _, n := range all {
		topics = append(topics, r.cfg.MQTT.BaseTopic+"/"+n)
	}
	r.rep.BirthTopics = len(topics)
	t := r.obs.track(trackAny, topics)
	start := r.wall.Now()
	if err := r.obs.publish(ctx, r.cfg.MQTT.DiscoveryPrefix+"/status", "online"); err != nil {
		return err
	}
	if err := r.obs.waitAll(ctx, r.p.limit, "republish after the HA birth message", t); err != nil {
		return err
	}
	first, last, _ := r.obs.result(t)
	r.rep.Birth, r.rep.BirthSpread = last.Sub(start), last.Sub(first)
	return nil
}

// idle measures the process with the schedule held: nothing to poll, only
// keep-alives and whatever the daemon and broker do by themselves.
func (r *scaleRun) idle(ctx context.Context) error {
	if r.p.duration <= 0 {
		return nil
	}
	r.sched.held.Store(true)
	m, b, c, err := r.window(ctx)
	r.rep.IdleMsgs, r.rep.IdleBytes, r.rep.IdleCPU = m, b, c
	return err
}

// steady measures the process under the default schedule, from the first
// turn of the connectivity check (the minute's jobs start together), so
// that a window of a minute holds one turn of every per-minute job.
func (r *scaleRun) steady(ctx context.Context) error {
	if r.p.duration <= 0 {
		return nil
	}
	for len(r.sched.turns) > 0 {
		<-r.sched.turns
	}
	r.sched.held.Store(false)
	defer r.sched.held.Store(true)
	t := r.wall.NewTimer(r.p.limit)
	defer t.Stop()
	for name := ""; name != pollJobs[0]; {
		select {
		case name = <-r.sched.turns:
		case <-t.C():
			return fmt.Errorf("bench scale: no %s turn within %s", pollJobs[0], r.p.limit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m, b, c, err := r.window(ctx)
	r.rep.SteadyMsgs, r.rep.SteadyBytes, r.rep.SteadyCPU = m, b, c
	return err
}

// window counts messages, bytes and CPU over one --duration of wall time.
func (r *scaleRun) window(ctx context.Context) (msgs, bytes int64, cpu time.Duration, err error) {
	m0, b0 := r.obs.counts()
	c0 := cpuTime()
	if err := r.wall.Sleep(ctx, r.p.duration); err != nil {
		return 0, 0, 0, err
	}
	m1, b1 := r.obs.counts()
	return m1 - m0, b1 - b0, cpuTime() - c0, nil
}
