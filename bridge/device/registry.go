package device

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/readgate"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// FleetAPI is the part of fleet.Client the devices are read and acted on
// with; tests may fake it.
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

// The Fleet client serves the devices.
var _ FleetAPI = (*fleet.Client)(nil)

// Host is the bridge above the devices: it publishes what they learn. The
// registry calls it without the lock.
type Host interface {
	// State publishes d's state object if it changed (always with force).
	State(d *Device, force bool)
	// Discovery publishes d's Home Assistant configs again (its model or
	// what it can do changed).
	Discovery(d *Device)
	// Appeared announces a device that joined the account after the first
	// discovery; Added publishes a new device whole.
	Appeared(d *Device)
	Added(d *Device)
	// Removed ends d's commands and clears what was published for it: the
	// device left the account.
	Removed(d *Device)
	// Info republishes bridge/info (the devices, their polling states).
	Info()
	// Checked follows every connectivity check: the bridge's periodic
	// chores (the budget's tick) ride on it.
	Checked(now time.Time)
	// Paused announces a polling pause that Tesla's EXCEEDED_LIMIT started.
	Paused(now, until time.Time, err error)
	// Problem announces an account-level dead end, fresh when it started
	// (or changed) now rather than failed its retry; ProblemCleared its end.
	Problem(p *economy.Problem, fresh bool)
	ProblemCleared(p *economy.Problem)
	// Within runs fn on the bridge's running context (false: it is
	// stopping and fn did not run), for jobs scheduled from outside Run.
	Within(fn func(ctx context.Context)) bool
}

// Specs are the cron specs of the kinds' polling jobs.
type Specs struct {
	Connectivity, VehicleDataDriving, VehicleDataCharging, VehicleDataIdle string
	LiveStatus, SiteInfo, EnergyHistory, FleetStatus                       string
}

// Options configure a Registry.
type Options struct {
	// Lock is the host's lock; it guards every device, so the host's
	// publishing and the registry's reads see one device at a time.
	Lock *sync.Mutex
	// VehicleNames and SiteNames are configured topic names, by VIN and
	// site id ("" or absent: the VIN or the id).
	VehicleNames map[string]string
	SiteNames    map[int64]string
	Specs        Specs
	Policy       economy.PolicyOptions
	// WakeTimeout bounds waiting for a car to come online; WakePollInterval
	// is the pause between state checks while waking.
	WakeTimeout, WakePollInterval time.Duration
	// Domain is the app's domain, for a car's pairing link.
	Domain    string
	Telemetry telemetry.Options
	// DisabledEntities are keys not to offer; Granted returns the token's
	// scopes as a set (nil: all granted).
	DisabledEntities []string
	Granted          func() map[string]bool
	// Send acts on devices (wakes, REST and energy commands) and Commander
	// sends vehicle commands, both behind the budget's hard cap.
	Send      command.Sender
	Commander command.Commander
	// CanSign reports whether a signed command can be made (a key or a
	// command proxy); nil when unknown. A car that needs signing is not
	// woken for a command when it is false.
	CanSign func() bool
	// Budget prices the connectivity check (nil: unbudgeted); Pauser keeps
	// the EXCEEDED_LIMIT pause.
	Budget *economy.Budget
	Pauser economy.Pauser
	// Recall returns what a device knew before a restart (memory.go); nil
	// starts every device blank.
	Recall func(uid string) (Memory, bool)
	// DeadEnds tracks the account's dead ends (412, 421, billing); nil
	// tracks none.
	DeadEnds *economy.DeadEnds
	// BLE are the cars the bridge also reaches over Bluetooth
	// ([vehicle.ble]); their sessions' Run is the caller's to run.
	BLE []BLECar
	// Owns reports whether a product (its VIN or site id) is this
	// instance's to bridge (nil: every one); the others are another
	// shard's.
	Owns func(uid string) bool
	// Concurrency bounds the reads in flight to the Fleet API host (pool.go;
	// 0: DefaultConcurrency, 1: one after another).
	Concurrency int
	Scheduler   schedule.Scheduler
	Clock       clock.Clock
	Logger      zerolog.Logger
}

// Registry keeps the account's devices: which products become which kind
// of device, how each is read, and what each knows. It tells its Host what
// to publish.
type Registry struct {
	opts  Options
	fleet FleetAPI
	send  command.Sender
	cmdr  command.Commander
	host  Host
	log   zerolog.Logger
	// reads gates every read on the polling economy and the account's
	// dead ends (readgate).
	reads *readgate.Gate
	// pool reads the devices of a round on a few workers, one lane per
	// device (pool.go).
	pool *pool
	// families are the device kinds that the account's products become, in
	// the order their first reads run; a Wall Connector comes with its site.
	families []family

	// mu is opts.Lock; it guards what follows and every device.
	mu      *sync.Mutex
	devices map[string]*Device // by topic name
	byUID   map[string]*Device // by VIN or site id
	// elsewhere are the topic names of the account's devices that another
	// shard owns (Options.Owns).
	elsewhere map[string]bool
	// missing counts consecutive product lists without a device, by uid (removal.go).
	missing    map[string]int
	discovered bool
}

// now is the registry clock's time.
func (r *Registry) now() time.Time { return r.opts.Clock.Now() }

// guard runs a job and turns a panic into a log line: one device's odd data
// must never take the bridge down.
func (r *Registry) guard(name string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error().Str("job", name).Interface("panic", p).Msg("job panicked; recovered")
		}
	}()
	f()
}

// Devices returns the devices ordered by name, for stable output.
func (r *Registry) Devices() []*Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Device, 0, len(r.devices))
	for _, d := range r.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Device returns the device with a topic name, or nil.
func (r *Registry) Device(name string) *Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.devices[name]
}

// Discovered reports whether the account's products were read once.
// Callers hold the lock.
func (r *Registry) Discovered() bool { return r.discovered }

// Elsewhere lists the topic names of the devices other shards own.
func (r *Registry) Elsewhere() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.elsewhere))
}

// register adds a device. Callers hold the lock.
func (r *Registry) register(d *Device) {
	d.hassDevice = d.k.hassDevice()
	d.pool = r.pool
	r.devices[d.name] = d
	r.byUID[d.uid] = d
}

// Rebind offers the kind's rows the user and the token allow now, and
// reports whether the offered set changed (then the caller republishes
// discovery, which clears the configs no longer offered). Callers hold the
// lock.
func (r *Registry) Rebind(d *Device) bool { return r.bind(d) }

func (r *Registry) bind(d *Device) bool {
	next := r.filter(d.k.table())
	changed := len(next) != len(d.rows)
	for i := 0; !changed && i < len(next); i++ {
		changed = next[i] != d.rows[i]
	}
	d.rows = next
	return changed
}

// filter drops the rows the user disabled and those whose scope the token
// lacks, so nothing is offered that would fail at every poll.
func (r *Registry) filter(in []*entity.Spec) []*entity.Spec {
	disabled := map[string]bool{}
	for _, k := range r.opts.DisabledEntities {
		disabled[k] = true
	}
	var granted map[string]bool
	if r.opts.Granted != nil {
		granted = r.opts.Granted()
	}
	out := make([]*entity.Spec, 0, len(in))
	for _, e := range in {
		if disabled[e.Key] {
			continue
		}
		if e.Scope != "" && granted != nil && !granted[e.Scope] {
			continue
		}
		out = append(out, e)
	}
	return out
}
