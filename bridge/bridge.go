package bridge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// FleetAPI is the part of fleet.Client the bridge reads and acts with;
// tests may fake it.
type FleetAPI interface {
	Products(ctx context.Context) ([]fleet.Product, error)
	Vehicles(ctx context.Context) ([]fleet.Vehicle, error)
	VehicleData(ctx context.Context, vin string, endpoints []fleet.Endpoint) (*fleet.VehicleData, error)
	LiveStatus(ctx context.Context, siteID int64) (*fleet.LiveStatus, error)
	SiteInfo(ctx context.Context, siteID int64) (*fleet.SiteInfo, error)
	CalendarHistory(ctx context.Context, siteID int64, q fleet.HistoryQuery) (*fleet.CalendarHistory, error)
	Vehicle(ctx context.Context, vin string) (*fleet.Vehicle, error)
	FleetStatus(ctx context.Context, vins []string) (*fleet.FleetStatus, error)
	// Sender wakes and commands; Command sends REST, which the signed path
	// replaces per car.
	command.Sender
}

// Publisher is the part of mqtt.Client the bridge needs.
type Publisher interface {
	Publish(topic string, payload []byte, retained bool) error
	Subscribe(topic string, h mqtt.Handler) error
	OnConnect(f func())
}

// The daemon's clients serve the bridge.
var (
	_ FleetAPI  = (*fleet.Client)(nil)
	_ Publisher = (*mqtt.Client)(nil)
)

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
	// Units is entity.UnitsNative, UnitsMetric or UnitsImperial.
	Units    string
	Version  string
	Vehicles []VehicleName
	Sites    []SiteName
	Schedule Schedule
	Commands CommandOptions
	// Commander sends vehicle commands (nil: REST through the FleetAPI).
	Commander command.Commander
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
	Telemetry telemetry.Options
	// Policy tunes the per-car polling state machine (quiet and suspend
	// periods; zero values take the defaults).
	Policy economy.PolicyOptions
	// Budget, if set, is the monthly Fleet API budget: cmd adds it to the
	// client's recorders so it sees every response. It stretches polling,
	// pauses it on EXCEEDED_LIMIT, and with a hard cap refuses commands.
	Budget *economy.Budget
	// RefreshMinInterval rate-limits get and refresh requests per device (default 30 s).
	RefreshMinInterval time.Duration
	// BirthDelay is the wait before republishing after HA's birth message.
	BirthDelay time.Duration
	// Clock is the bridge's time: polling policy, wake waits, budget
	// months, result times (default: the wall clock). Tests use a
	// clock.Manual, whose Sleep moves simulated time on.
	Clock clock.Clock
	// Scheduler runs the polling jobs (default: a schedule.Cron on Clock).
	Scheduler schedule.Scheduler
	// Hooks observe the bridge (HookBase documents when each is called):
	// the Prometheus metrics, the TeslaMate topics, the bench.
	Hooks  []Hook
	Logger zerolog.Logger
}

// Bridge joins the Fleet API and MQTT: it owns the devices, their state and
// discovery, and the polling jobs.
type Bridge struct {
	opts   Options
	fleet  FleetAPI
	pub    Publisher
	log    zerolog.Logger
	origin hass.Origin
	// send is the Fleet API's acting half behind the budget's hard cap;
	// cmdr the vehicle command path behind it.
	send command.Sender
	cmdr command.Commander
	exec *command.Executor
	// gates are the reads' back-off states; pauser the EXCEEDED_LIMIT pause.
	gates  *economy.Gates
	pauser economy.Pauser
	// The device kinds: each owns its devices' reads and jobs.
	cars  *cars
	sites *sites
	// calls and births hand work that arrives over MQTT to Run, which owns
	// the context it runs on; halted is closed when Run stops taking it.
	calls  chan call
	births chan time.Duration
	halted chan struct{}

	mu          sync.Mutex
	devices     map[string]*device // by topic name
	byUID       map[string]*device // by VIN or site id
	lastRefresh map[string]time.Time
	discovered  bool
	// missing counts consecutive product lists without a device, by uid (removal.go).
	missing map[string]int
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
		opts.Units = entity.UnitsNative
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
	if opts.Budget != nil && opts.Budget.Clock() != opts.Clock {
		// A budget on another clock than the bridge counts another month and
		// lifts pauses at other times than the bridge checks them.
		return nil, errors.New("bridge: the budget and the bridge must share one clock (BudgetOptions.Clock = Options.Clock)")
	}
	b := &Bridge{
		opts:        opts,
		fleet:       api,
		send:        command.Sender(api),
		pub:         pub,
		log:         opts.Logger.With().Str("component", "bridge").Logger(),
		origin:      hass.Origin{Name: "tesla2mqtt", SWVersion: opts.Version, SupportURL: "https://github.com/tesla2mqtt/tesla2mqtt"},
		calls:       make(chan call),
		births:      make(chan time.Duration, 16),
		halted:      make(chan struct{}),
		devices:     map[string]*device{},
		byUID:       map[string]*device{},
		lastRefresh: map[string]time.Time{},
		ticks:       map[string]int{},
		pauser:      &economy.Pause{},
	}
	b.cmdr = opts.Commander
	if opts.Budget != nil {
		b.pauser = opts.Budget
		b.send = command.Capped(api, opts.Budget)
		if b.cmdr != nil {
			b.cmdr = command.CappedCommander(b.cmdr, opts.Budget)
		}
	}
	if b.cmdr == nil {
		b.cmdr = command.REST(b.send)
	}
	b.gates = economy.NewGates(b.log)
	b.exec = command.NewExecutor(command.Options{Allow: opts.Commands.Allow, Deny: opts.Commands.Deny,
		RateLimitPerMinute: opts.Commands.RateLimitPerMinute, WakeTimeout: opts.Commands.WakeTimeout,
		Domain: opts.Domain, ClientID: opts.ClientID, Granted: b.granted, Clock: opts.Clock, Logger: b.log})
	b.cars = newCars(b)
	b.sites = &sites{b: b}
	if err := b.subscribe(); err != nil {
		return nil, err
	}
	pub.OnConnect(b.republishAll)
	return b, nil
}

// families are the device kinds that the account's products become, in
// the order their first reads run; a Wall Connector comes with its site.
func (b *Bridge) families() []family { return []family{b.cars, b.sites} }

// now is the bridge clock's time.
func (b *Bridge) now() time.Time { return b.opts.Clock.Now() }
