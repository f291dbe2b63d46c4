package bridge

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/sharding"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// What the bridge is built from: its options and the interface it writes
// MQTT through (the devices read Tesla through device.FleetAPI).

// Publisher is the part of mqtt.Client the bridge needs.
type Publisher interface {
	// Publish waits for the acknowledgement: results and responses that
	// someone waits for.
	Publish(topic string, payload []byte, retained bool) error
	// PublishAsync hands the message to the client's window and returns
	// the acknowledgement to come: discovery, availability and state.
	PublishAsync(topic string, payload []byte, retained bool) <-chan error
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
	// MaxAge is how long after arriving a command may still start, a
	// wake included (default 30 s); GroupMaxAge overrides it per command
	// group (default: unlock, trunk and windows 25 s). A command that
	// cannot start in time answers expired and is never sent.
	MaxAge      time.Duration
	GroupMaxAge map[string]time.Duration
}

// DefaultMaxAge and DefaultGroupMaxAge are the command age limits of a
// bridge whose options leave them out: long enough for a sleeping car's
// wake (10 to 30 s), and a little shorter for what opens the car.
const DefaultMaxAge = 30 * time.Second

// DefaultGroupMaxAge returns the default per-group limits (a new map).
func DefaultGroupMaxAge() map[string]time.Duration {
	return map[string]time.Duration{"unlock": 25 * time.Second, "trunk": 25 * time.Second, "windows": 25 * time.Second}
}

// Options configure a Bridge. cmd builds them from config.Config, tests
// build them directly.
type Options struct {
	BaseTopic       string
	DiscoveryPrefix string
	// Discovery turns Home Assistant discovery on.
	Discovery bool
	// DiscoveryMode is discovery.Device (one config per device, HA
	// 2024.12+) or discovery.Entity (one per entity; the default here, cmd
	// defaults to device).
	DiscoveryMode string
	// Units is entity.UnitsNative, UnitsMetric or UnitsImperial.
	Units    string
	Version  string
	Vehicles []VehicleName
	Sites    []SiteName
	Schedule Schedule
	Commands CommandOptions
	// Commander sends vehicle commands (nil: REST through the Fleet API).
	Commander command.Commander
	// Domain is the app's domain, for the pairing link in key_not_paired results.
	Domain string
	// ClientID is the app's client id, for the consent link in missing_scope results.
	ClientID string
	// MemoryPath is the file in the state directory that keeps what each
	// device knew across restarts ("" keeps nothing).
	MemoryPath string
	// RegisterCommand is what registers the app in the account's region,
	// the remedy of a 412 (default "tesla2mqtt register").
	RegisterCommand string
	// DisabledEntities are keys not to publish or discover.
	DisabledEntities []string
	// EntityNames rename entities in discovery, by key.
	EntityNames map[string]string
	// GrantedScopes returns the scopes of the current token (nil func: all granted).
	GrantedScopes func() []string
	// Account, when set, is published on bridge/info, bridge/status and as
	// the "tesla2mqtt bridge" HA device (login needed, missing scopes,
	// token expiry). SetAccount attaches it after New.
	Account contract.AccountStatus
	// Meter, if set, feeds request counts into bridge/info.
	Meter *fleet.Meter
	// Telemetry configures the Fleet Telemetry ingest (SubscribeTelemetry).
	Telemetry telemetry.Options
	// Policy tunes the per-car polling state machine (quiet and suspend
	// periods; zero values take the defaults).
	Policy economy.PolicyOptions
	// BLE are the cars the bridge also reaches over Bluetooth
	// ([vehicle.ble]). The caller runs each session's Run beside the
	// bridge and tells the bridge its status changes (BLEStatus).
	BLE []device.BLECar
	// Budget, if set, is the monthly Fleet API budget: cmd adds it to the
	// client's recorders so it sees every response. It stretches polling,
	// pauses it on EXCEEDED_LIMIT, and with a hard cap refuses commands.
	Budget *economy.Budget
	// RefreshMinInterval rate-limits get and refresh requests per device (default 30 s).
	RefreshMinInterval time.Duration
	// BirthDelay is the wait before republishing after HA's birth message.
	BirthDelay time.Duration
	// Concurrency bounds the reads in flight to the Fleet API (0:
	// device.DefaultConcurrency).
	Concurrency int
	// Heartbeat republishes a device's unchanged state after this long, so
	// updated_at (the last read) is never older than that on the broker
	// (0: DefaultHeartbeat).
	Heartbeat time.Duration
	// Clock is the bridge's time: polling policy, wake waits, budget
	// months, result times (default: the wall clock). Tests use a
	// clock.Manual, whose Sleep moves simulated time on.
	Clock clock.Clock
	// Scheduler runs the polling jobs (default: a schedule.Cron on Clock).
	Scheduler schedule.Scheduler
	// Shard is this instance's part of the account when several share it
	// (zero: one instance owns every device).
	Shard sharding.Shard
	// Hooks observe the bridge (HookBase documents when each is called):
	// the Prometheus metrics, the TeslaMate topics, the bench.
	Hooks  []contract.Hook
	Logger zerolog.Logger
}

// The daemon's MQTT client serves the bridge.
var _ Publisher = (*mqtt.Client)(nil)
