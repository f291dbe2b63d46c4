package bridge

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/coalesce"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/discovery"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/sharding"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Run discovers the account's devices, reads them once, then polls on the
// schedule until ctx ends. It owns every goroutine the bridge starts: the
// command workers, the reads that get and refresh requests ask for, the
// delayed republish after Home Assistant's birth. On return the jobs have
// stopped, they have all ended (a command that ignores its context past
// the 3 s shutdown bound is the one exception: it ends when its call
// does), and each device's availability is left offline.
func (b *Bridge) Run(ctx context.Context) error {
	halt := sync.OnceFunc(func() { close(b.halted) })
	defer halt()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.disc.Hold(true)
	execDone := make(chan struct{})
	go func() {
		defer close(execDone)
		_ = b.exec.Run(ctx)
	}()
	var work sync.WaitGroup
	stopped := func() {
		cancel()
		<-execDone
		work.Wait()
	}
	// The first product list backs off exponentially (30 s → 30 min): each
	// answer below 500 is billed, and a dead end such as a 412 will not go
	// away by asking every 30 s.
	for attempt := 0; ; attempt++ {
		err := b.reg.Discover(ctx)
		if err == nil {
			break
		}
		wait := b.reg.RetryIn(attempt)
		b.log.Error().Err(err).Dur("retry_in", wait).Msg("cannot list the account's products")
		if !b.wait(ctx, wait) {
			stopped()
			return nil
		}
	}
	b.reg.Start(ctx)
	b.disc.Hold(false)
	o := b.newOutbox()
	for _, d := range b.reg.Devices() {
		b.queueDiscovery(o, d)
	}
	o.flush()
	b.settleAcks()
	b.publishInfo()
	if err := b.schedule(ctx); err != nil {
		stopped()
		return err
	}
	b.opts.Scheduler.Start()
	work.Go(func() { b.birthLoop(ctx) })
	work.Go(func() { b.republishes.Loop(ctx, func() { b.guard("republish", b.republishAll) }) })
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case c := <-b.calls:
			work.Go(func() {
				defer close(c.done)
				b.guard("request", func() { c.fn(ctx) })
			})
		}
	}
	halt()
	// STYLE.md's shutdown order: stop the jobs, let commands in flight
	// finish (the executor's grace), then leave every device offline. The
	// waits share one bound so SIGTERM ends well within 5 s.
	deadline, cancelDeadline := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancelDeadline()
	jobs := b.opts.Scheduler.Stop()
	select {
	case <-jobs.Done():
	case <-deadline.Done():
		b.log.Warn().Msg("polling jobs did not finish within 3s")
	}
	select {
	case <-execDone:
	case <-deadline.Done():
		b.log.Warn().Msg("a command did not finish within 3s of shutdown")
	}
	work.Wait()
	b.reg.Wait()
	b.settleAcks()
	b.setAllAvailability("offline")
	b.saveMemory()
	if err := b.opts.Budget.Save(); err != nil {
		b.log.Warn().Err(err).Msg("cannot save the budget counters")
	}
	return nil
}

// schedule registers the polling jobs: each kind's, then the bridge's own.
// The reads that cost money are paced by the budget's stretch and stop
// during an EXCEEDED_LIMIT pause.
func (b *Bridge) schedule(ctx context.Context) error {
	s := b.opts.Schedule
	jobs := append(b.reg.Jobs(ctx),
		device.Job{Name: "products", Spec: s.Products, Run: func() { _ = b.reg.Discover(ctx) }, API: true},
		device.Job{Name: "full_republish", Spec: s.FullRepublish, Run: func() { b.publishInfo(); b.republishState() }})
	var errs []error
	for _, j := range jobs {
		if j.Spec == "" {
			continue
		}
		run := func() {
			if j.API && !b.pauser.PausedUntil(b.now()).IsZero() {
				return
			}
			if j.Paid && !b.stretchTurn(j.Name) {
				return
			}
			j.Run()
			b.settleAcks()
		}
		if err := b.opts.Scheduler.Add(j.Name, j.Spec, func() { b.guard(j.Name, run) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stretchTurn counts a job's turns and reports whether this one runs: all
// of them at stretch 1, every 2nd at stretch 2, and so on.
func (b *Bridge) stretchTurn(name string) bool {
	// A priced connectivity check takes the stretch first (CheckPace).
	check, k, _ := b.reg.CheckPace(b.opts.Budget.Stretch())
	if name == "connectivity" {
		k = check
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.ticks[name]
	b.ticks[name] = n + 1
	return n%k == 0
}

// New builds a Bridge and registers its MQTT handlers; nothing is polled
// until Run.
func New(opts Options, api device.FleetAPI, pub Publisher) (*Bridge, error) {
	if opts.BaseTopic == "" {
		opts.BaseTopic = "tesla2mqtt"
	}
	if opts.DiscoveryPrefix == "" {
		opts.DiscoveryPrefix = "homeassistant"
	}
	if opts.DiscoveryMode == "" {
		opts.DiscoveryMode = discovery.Entity
	}
	if opts.DiscoveryMode != discovery.Entity && opts.DiscoveryMode != discovery.Device {
		return nil, errors.New(`bridge: DiscoveryMode must be "device" or "entity"`)
	}
	if opts.Units == "" {
		opts.Units = entity.UnitsNative
	}
	opts.Clock = clock.OrReal(opts.Clock)
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.RefreshMinInterval == 0 {
		opts.RefreshMinInterval = 30 * time.Second
	}
	if opts.Commands.RateLimitPerMinute <= 0 {
		opts.Commands.RateLimitPerMinute = 10
	}
	if opts.Commands.WakeTimeout <= 0 {
		opts.Commands.WakeTimeout = 60 * time.Second
	}
	if opts.Commands.WakePollInterval <= 0 {
		opts.Commands.WakePollInterval = 5 * time.Second
	}
	if opts.Commands.MaxAge <= 0 {
		opts.Commands.MaxAge = DefaultMaxAge
	}
	if opts.Commands.GroupMaxAge == nil {
		opts.Commands.GroupMaxAge = DefaultGroupMaxAge()
	}
	if opts.Scheduler == nil {
		opts.Scheduler = schedule.NewCron(opts.Clock, opts.Schedule.Location, opts.Logger)
	}
	if opts.Policy.QuietAfter <= 0 {
		opts.Policy.QuietAfter = 15 * time.Minute
	}
	if opts.Policy.SuspendFor <= 0 {
		opts.Policy.SuspendFor = 21 * time.Minute
	}
	if opts.Budget != nil && opts.Budget.Clock() != opts.Clock {
		// A budget on another clock than the bridge counts another month and
		// lifts pauses at other times than the bridge checks them.
		return nil, errors.New("bridge: the budget and the bridge must share one clock (BudgetOptions.Clock = Options.Clock)")
	}
	b := &Bridge{
		opts:         opts,
		pub:          pub,
		log:          opts.Logger.With().Str("component", "bridge").Logger(),
		calls:        make(chan call),
		births:       make(chan struct{}, 1),
		republishes:  coalesce.New(),
		halted:       make(chan struct{}),
		published:    map[*device.Device]*published{},
		lastRefresh:  map[string]time.Time{},
		pairing:      map[string]bool{},
		ticks:        map[string]int{},
		pauser:       &economy.Pause{},
		retainedSeen: map[[sha256.Size]byte]bool{},
		rejects:      newRejects(opts),
		clearing:     map[string]int{},
		deadEnds:     &economy.DeadEnds{Register: opts.RegisterCommand},
	}
	b.disc = discovery.New(discovery.Settings{Prefix: opts.DiscoveryPrefix, Mode: opts.DiscoveryMode, Units: opts.Units,
		Names: opts.EntityNames, Version: opts.Version, Log: b.log,
		Bridge: entity.BridgeDevice{Base: opts.BaseTopic, Topics: sharding.BridgeTopics(opts.BaseTopic, opts.Shard), Version: opts.Version}})
	send, cmdr := command.Sender(api), opts.Commander
	var canSign func() bool
	if s, ok := cmdr.(interface{ CanSign() bool }); ok {
		canSign = s.CanSign
	}
	if opts.Budget != nil {
		b.pauser = opts.Budget
		send = command.Capped(api, opts.Budget)
		if cmdr != nil {
			cmdr = command.CappedCommander(cmdr, opts.Budget)
		}
	}
	if cmdr == nil {
		cmdr = command.REST(send)
	}
	b.exec = command.NewExecutor(command.Options{Allow: opts.Commands.Allow, Deny: opts.Commands.Deny,
		RateLimitPerMinute: opts.Commands.RateLimitPerMinute, WakeTimeout: opts.Commands.WakeTimeout,
		MaxAge: opts.Commands.MaxAge, GroupMaxAge: opts.Commands.GroupMaxAge,
		Domain: opts.Domain, ClientID: opts.ClientID, Granted: b.granted, Clock: opts.Clock, Logger: b.log})
	do := b.deviceOptions(send, cmdr)
	do.CanSign, do.DeadEnds = canSign, b.deadEnds
	do.Recall = recall(b.loadMemory())
	b.reg = device.New(do, api, host{b})
	if err := b.subscribe(); err != nil {
		return nil, err
	}
	pub.OnConnect(b.republishAll)
	return b, nil
}

// deviceOptions are the registry's options: the bridge's, in the
// registry's terms.
func (b *Bridge) deviceOptions(send command.Sender, cmdr command.Commander) device.Options {
	o, s := b.opts, b.opts.Schedule
	do := device.Options{Lock: &b.mu, VehicleNames: map[string]string{}, SiteNames: map[int64]string{},
		Specs: device.Specs{Connectivity: s.Connectivity, VehicleDataDriving: s.VehicleDataDriving,
			VehicleDataCharging: s.VehicleDataCharging, VehicleDataIdle: s.VehicleDataIdle, LiveStatus: s.LiveStatus,
			SiteInfo: s.SiteInfo, EnergyHistory: s.EnergyHistory, FleetStatus: s.FleetStatus},
		Policy: o.Policy, WakeTimeout: o.Commands.WakeTimeout, WakePollInterval: o.Commands.WakePollInterval,
		Domain: o.Domain, Telemetry: o.Telemetry, DisabledEntities: o.DisabledEntities, Granted: b.granted,
		Send: send, Commander: cmdr, Budget: o.Budget, Pauser: b.pauser, Scheduler: o.Scheduler,
		BLE: o.BLE, Concurrency: o.Concurrency, Owns: o.Shard.Owns, Clock: o.Clock, Logger: b.log}
	for _, v := range o.Vehicles {
		if v.Name != "" {
			do.VehicleNames[v.VIN] = v.Name
		}
	}
	for _, st := range o.Sites {
		if st.Name != "" {
			do.SiteNames[st.ID] = st.Name
		}
	}
	return do
}

// SubscribeTelemetry starts the Fleet Telemetry ingest on sub (nil: the
// bridge's own broker connection) into the cars, and schedules the safety
// read, which Run carries out.
func (b *Bridge) SubscribeTelemetry(sub telemetry.Subscriber) error {
	if sub == nil {
		sub = b.pub
	}
	return b.reg.SubscribeTelemetry(sub)
}

// StreamAlive reports whether the car's Fleet Telemetry stream said
// something within telemetry.Options.Quiet (and not that the car
// disconnected): while it does, its regular vehicle_data polling stops.
func (b *Bridge) StreamAlive(vin string) bool { return b.reg.StreamAlive(vin) }
