package bridge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// FleetAPI is the part of fleet.Client the bridge reads with; tests may fake it.
type FleetAPI interface {
	Products(ctx context.Context) ([]fleet.Product, error)
	Vehicles(ctx context.Context) ([]fleet.Vehicle, error)
	VehicleData(ctx context.Context, vin string, endpoints []fleet.Endpoint) (*fleet.VehicleData, error)
	LiveStatus(ctx context.Context, siteID int64) (*fleet.LiveStatus, error)
	SiteInfo(ctx context.Context, siteID int64) (*fleet.SiteInfo, error)
	CalendarHistory(ctx context.Context, siteID int64, q fleet.HistoryQuery) (*fleet.CalendarHistory, error)
	Vehicle(ctx context.Context, vin string) (*fleet.Vehicle, error)
	WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error)
	FleetStatus(ctx context.Context, vins []string) (*fleet.FleetStatus, error)
	// Command sends a REST vehicle command; the signed path replaces it per car.
	Command(ctx context.Context, vin, name string, params map[string]any) (*fleet.CommandResult, error)
	EnergyCommand(ctx context.Context, siteID int64, name string, body map[string]any) error
}

// Publisher is the part of mqtt.Client the bridge needs.
type Publisher interface {
	Publish(topic string, payload []byte, retained bool) error
	Subscribe(topic string, h mqtt.Handler) error
	OnConnect(f func())
}

// VehicleName names one car; Name is the topic segment ("" = the VIN).
type VehicleName struct {
	VIN, Name string
}

// SiteName names one energy site; Name is the topic segment ("" = the id).
type SiteName struct {
	ID   int64
	Name string
}

// Schedule holds the cron specs of the polling jobs.
type Schedule struct {
	Connectivity        string
	VehicleDataDriving  string
	VehicleDataCharging string
	VehicleDataIdle     string
	LiveStatus          string
	SiteInfo            string
	EnergyHistory       string
	FleetStatus         string
	Products            string
	FullRepublish       string
	// Location is the time zone of cron specs without a CRON_TZ= prefix
	// (nil: the process's local zone, TZ).
	Location *time.Location
}

// CommandOptions are the safety rails of set topics.
type CommandOptions struct {
	// Allow, if not empty, lists the only command groups that may run; Deny
	// lists groups that never run.
	Allow, Deny []string
	// RateLimitPerMinute caps commands per device per minute (default 10).
	RateLimitPerMinute int
	// WakeTimeout bounds waiting for a car to come online (default 60 s).
	WakeTimeout time.Duration
	// WakePollInterval is the pause between state checks while waking (default 5 s).
	WakePollInterval time.Duration
}

// Options configure a Bridge. cmd builds them from config.Config, tests
// build them directly.
type Options struct {
	BaseTopic       string
	DiscoveryPrefix string
	// Discovery turns Home Assistant discovery on.
	Discovery bool
	// Units is UnitsNative, UnitsMetric or UnitsImperial.
	Units    string
	Version  string
	Vehicles []VehicleName
	Sites    []SiteName
	Schedule Schedule
	Commands CommandOptions
	// Commander sends vehicle commands (nil: REST through the FleetAPI).
	Commander Commander
	// Domain is the app's domain, for the pairing link in key_not_paired results.
	Domain string
	// ClientID is the app's client id, for the consent link in missing_scope results.
	ClientID string
	// DisabledEntities are keys not to publish or discover.
	DisabledEntities []string
	// EntityNames rename entities in discovery, by key.
	EntityNames map[string]string
	// GrantedScopes returns the scopes of the current token (nil func: all granted).
	GrantedScopes func() []string
	// Account, when set, is published on bridge/info, bridge/status and as
	// the "tesla2mqtt bridge" HA device (login needed, missing scopes,
	// token expiry). SetAccount attaches it after New.
	Account AccountStatus
	// Meter, if set, feeds request counts into bridge/info.
	Meter *fleet.Meter
	// Telemetry configures the Fleet Telemetry ingest (SubscribeTelemetry).
	Telemetry TelemetryOptions
	// Policy tunes the per-car polling state machine (quiet and suspend
	// periods; zero values take the defaults).
	Policy PolicyOptions
	// Budget, if set, is the monthly Fleet API budget: cmd adds it to the
	// client's recorders so it sees every response. It stretches polling,
	// pauses it on EXCEEDED_LIMIT, and with a hard cap refuses commands.
	Budget *Budget
	// RefreshMinInterval rate-limits get and refresh requests per device (default 30 s).
	RefreshMinInterval time.Duration
	// BirthDelay is the wait before republishing after HA's birth message.
	BirthDelay time.Duration
	// Clock is the bridge's time: polling policy, wake waits, budget
	// months, result times (default: the wall clock). Tests use a
	// clock.Manual, whose Sleep moves simulated time on.
	Clock     clock.Clock
	Scheduler schedule.Scheduler
	// OnCommandDone, if set, is called after each command's result and its
	// confirming read, when the device is ready for its next command: the
	// bench steps its simulated day on it instead of waiting.
	OnCommandDone func(device string, r Result)
	Logger        zerolog.Logger
}

// Bridge joins the Fleet API and MQTT: it owns the devices, their state and
// discovery, and the polling jobs.
type Bridge struct {
	opts   Options
	fleet  FleetAPI
	pub    Publisher
	log    zerolog.Logger
	origin hass.Origin

	mu          sync.Mutex
	devices     map[string]*device // by topic name
	byUID       map[string]*device // by VIN or site id
	lastRefresh map[string]time.Time
	discovered  bool
	ctx         context.Context
	// missing counts consecutive product lists without a device, by uid (removal.go).
	missing map[string]int
	// workers are the devices' command workers; Run waits for them.
	workers sync.WaitGroup
	// policies are the cars' polling states, gates the per-device and
	// endpoint fault states, by uid.
	policies map[string]*carPolicy
	gates    map[string]*faultGate
	// pausedUntil is the EXCEEDED_LIMIT pause without a Budget.
	pausedUntil time.Time
	// ticks counts each stretchable job's turns; lastInfo is when the
	// budget's bridge/info was last published.
	ticks    map[string]int
	lastInfo time.Time
}

// New builds a Bridge and registers its MQTT handlers; nothing is polled
// until Run.
func New(opts Options, api FleetAPI, pub Publisher) (*Bridge, error) {
	if opts.BaseTopic == "" {
		opts.BaseTopic = "tesla2mqtt"
	}
	if opts.DiscoveryPrefix == "" {
		opts.DiscoveryPrefix = "homeassistant"
	}
	if opts.Units == "" {
		opts.Units = UnitsNative
	}
	opts.Clock = clock.OrReal(opts.Clock)
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
	if opts.Scheduler == nil {
		opts.Scheduler = schedule.NewCron(opts.Clock, opts.Schedule.Location, opts.Logger)
	}
	if opts.Policy.QuietAfter <= 0 {
		opts.Policy.QuietAfter = 15 * time.Minute
	}
	if opts.Policy.SuspendFor <= 0 {
		opts.Policy.SuspendFor = 21 * time.Minute
	}
	if opts.Budget != nil && opts.Budget.opts.Clock != opts.Clock {
		// A budget on another clock than the bridge counts another month and
		// lifts pauses at other times than the bridge checks them.
		return nil, errors.New("bridge: the budget and the bridge must share one clock (BudgetOptions.Clock = Options.Clock)")
	}
	if opts.Budget != nil {
		api = budgetGuard{api, opts.Budget}
		if opts.Commander != nil {
			opts.Commander = guardCommander(opts.Commander, opts.Budget)
		}
	}
	b := &Bridge{
		opts:        opts,
		fleet:       api,
		pub:         pub,
		log:         opts.Logger.With().Str("component", "bridge").Logger(),
		origin:      hass.Origin{Name: "tesla2mqtt", SWVersion: opts.Version, SupportURL: "https://github.com/tesla2mqtt/tesla2mqtt"},
		devices:     map[string]*device{},
		byUID:       map[string]*device{},
		lastRefresh: map[string]time.Time{},
		ctx:         context.Background(),
		policies:    map[string]*carPolicy{},
		gates:       map[string]*faultGate{},
		ticks:       map[string]int{},
	}
	if err := b.subscribe(); err != nil {
		return nil, err
	}
	if err := b.subscribeSet(); err != nil {
		return nil, err
	}
	pub.OnConnect(b.republishAll)
	return b, nil
}

// Run discovers the account's devices, reads them once, then polls on the
// schedule until ctx ends. On return the jobs have stopped and each device's
// availability is left offline.
func (b *Bridge) Run(ctx context.Context) error {
	b.mu.Lock()
	b.ctx = ctx
	b.mu.Unlock()
	for {
		err := b.discover(ctx)
		if err == nil {
			break
		}
		b.log.Error().Err(err).Msg("cannot list the account's products; retrying in 30s")
		if !b.wait(ctx, 30*time.Second) {
			return nil
		}
	}
	b.PollConnectivity(ctx)
	b.pollOnline(ctx)
	b.PollSites(ctx, true)
	b.publishInfo()
	if err := b.schedule(ctx); err != nil {
		return err
	}
	b.opts.Scheduler.Start()
	<-ctx.Done()
	// STYLE.md's shutdown order: stop the jobs, let commands in flight
	// finish (commandGrace), then leave every device offline. Both waits
	// share one bound so SIGTERM ends well within 5 s.
	deadline, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	stopped := b.opts.Scheduler.Stop()
	select {
	case <-stopped.Done():
	case <-deadline.Done():
		b.log.Warn().Msg("polling jobs did not finish within 3s")
	}
	workersDone := make(chan struct{})
	go func() { b.workers.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-deadline.Done():
		b.log.Warn().Msg("a command did not finish within 3s of shutdown")
	}
	b.setAllAvailability("offline")
	if err := b.opts.Budget.Save(); err != nil {
		b.log.Warn().Err(err).Msg("cannot save the budget counters")
	}
	return nil
}

// schedule registers the polling jobs. Each vehicle_data job reads the
// cars whose policy state it serves; the reads that cost money are paced
// by the budget's stretch and stop during an EXCEEDED_LIMIT pause.
func (b *Bridge) schedule(ctx context.Context) error {
	s := b.opts.Schedule
	pricedCheck := b.opts.Budget != nil && b.opts.Budget.opts.Prices.Connectivity > 0
	jobs := []struct {
		name, spec string
		job        func()
		// paid jobs are stretched near the budget; api jobs pause on EXCEEDED_LIMIT.
		paid, api bool
	}{
		{"connectivity", s.Connectivity, func() { b.PollConnectivity(ctx) }, pricedCheck, true},
		{jobDriving, s.VehicleDataDriving, func() { b.pollJob(ctx, jobDriving) }, true, true},
		{jobCharging, s.VehicleDataCharging, func() { b.pollJob(ctx, jobCharging) }, true, true},
		{jobIdle, s.VehicleDataIdle, func() { b.pollJob(ctx, jobIdle) }, true, true},
		{"live_status", s.LiveStatus, func() { b.PollSites(ctx, false) }, true, true},
		{"site_info", s.SiteInfo, func() { b.pollSiteInfo(ctx) }, true, true},
		{"energy_history", s.EnergyHistory, func() { b.PollEnergyHistory(ctx) }, true, true},
		{"fleet_status", s.FleetStatus, b.fleetStatusJob(ctx), false, true},
		{"products", s.Products, func() { _ = b.discover(ctx) }, false, true},
		{"full_republish", s.FullRepublish, func() { b.publishInfo(); b.republishState() }, false, false},
	}
	var errs []error
	for _, j := range jobs {
		if j.spec == "" {
			continue
		}
		job := j.job
		name, paid, api := j.name, j.paid, j.api
		run := func() {
			if api && b.pollingPaused(b.now()) {
				return
			}
			if paid && !b.stretchTurn(name) {
				return
			}
			job()
		}
		if err := b.opts.Scheduler.Add(name, j.spec, func() { b.guard(name, run) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stretchTurn counts a job's turns and reports whether this one runs: all
// of them at stretch 1, every 2nd at stretch 2, and so on.
func (b *Bridge) stretchTurn(name string) bool {
	k := b.opts.Budget.Stretch()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.ticks[name]
	b.ticks[name] = n + 1
	return n%k == 0
}

// now is the bridge clock's time.
func (b *Bridge) now() time.Time { return b.opts.Clock.Now() }

// wait waits d on the bridge's clock and reports false when ctx ended
// first. Unlike Clock.Sleep, a test clock does not move by itself here: a
// retry waits until the test advances time.
func (b *Bridge) wait(ctx context.Context, d time.Duration) bool {
	t := b.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// guard runs a job and turns a panic into a log line: one device's odd data
// must never take the bridge down.
func (b *Bridge) guard(name string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Str("job", name).Interface("panic", r).Msg("job panicked; recovered")
		}
	}()
	f()
}
