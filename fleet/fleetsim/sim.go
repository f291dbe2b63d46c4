// Package fleetsim is an in-process simulator of Tesla's Fleet API, used by
// tests, benchmarks and the demo mode (DESIGN.md "Testing"). It is an
// http.Handler that speaks the real paths, JSON envelopes and error bodies
// (FLEET_API.md §3, §5): cars that sleep, wake and charge, an energy site
// with a solar curve, scopes enforced from the bearer token, and faults
// (408/429/5xx, truncated JSON, latency) injected on demand. BLERadio
// reaches the same cars over a simulated Bluetooth link (ble.go).
//
// All simulated state is computed lazily from a Clock on each request; the
// simulator starts no goroutines. Every exported method is safe for
// concurrent use.
package fleetsim

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Defaults for Options.
const (
	DefaultIssuer     = "https://fleetsim.local"
	DefaultRegion     = "NA"
	DefaultWakeDelay  = 20 * time.Second
	DefaultSleepAfter = 10 * time.Minute
)

// Options configure a Sim. The zero value is usable.
type Options struct {
	// Clock drives all simulated time (default: the wall clock). Tests use
	// a clock.Manual; the demo uses a clock.Scaled.
	Clock clock.Clock
	// Wall is real time, for what must follow the wall clock even when
	// Clock is simulated: injected response latency, and the signed
	// sessions' clock_time, which the vehicle-command SDK counts on the
	// wall clock (default: the wall clock).
	Wall clock.Clock
	// Issuer is the "iss" of minted tokens; tokens with another issuer are
	// refused (default DefaultIssuer).
	Issuer string
	// Region is the account's region, "NA", "EU" or "CN": the token's
	// ou_code and the users/region answer (default "NA").
	Region string
	// WakeDelay is how much simulated time a wake_up needs to bring an
	// asleep car online (default 20 s).
	WakeDelay time.Duration
	// SleepAfter is how long an online, parked, not-charging car stays awake
	// without a vehicle_data request or a command (default 10 min). Polling
	// vehicle_data keeps a car awake, as on the real fleet.
	SleepAfter time.Duration
	// StrictRefresh kills a refresh token the moment it is used: no 24 h
	// grace for the previous one. Tesla documents the grace; the strict
	// mode exists so a test can see a rotation the client used before it
	// saved it, which the grace would hide.
	StrictRefresh bool
	// AccessTokenTTL is the lifetime of the access tokens the token
	// endpoint issues (default Tesla's 8 h), to watch short tokens refresh.
	AccessTokenTTL time.Duration
	// Vehicles and EnergySites, when either is > 0, replace the default
	// account with that many generated cars and sites (GeneratedVIN,
	// GeneratedSiteID, GeneratedMix): a deterministic fleet of any size for
	// scale benchmarks.
	Vehicles, EnergySites int
}

// Sim is the simulator. Create it with New; it implements http.Handler.
type Sim struct {
	opts  Options
	clock clock.Clock
	wall  clock.Clock

	mu       sync.Mutex // guards everything below
	vehicles []*vehicleSim
	sites    []*siteSim
	counts   map[string]int
	counted  chan struct{} // closed and replaced on every count; see WaitCount
	// executed counts the REST commands carried out, per VIN or site id
	// (CommandsByDevice).
	executed map[string]int
	billable map[fleet.Category]int
	faults   faultState
	// The state of the simulator's other concerns, each made on first use
	// by its accessor (auth, telemetry, hidden, vcp).
	authState      *authState
	telemetryState *telemetryState
	hiddenCars     map[string]hiddenCar
	vcpState       *vcpState
	// ble is the cars' Bluetooth side (ble.go).
	ble bleState
	// account is what the account-level dead ends play (account.go).
	account accountState
}

// New returns a simulator with the default fleet: an online, charging
// Model 3 "5YJ3E1EA7PF000001" ("Red Three"), an asleep Model Y
// "7SAYGDEE1PF000002" ("Blue Y"), and the Powerwall + solar site 1000000001
// ("Home").
func New(opts Options) *Sim {
	opts.Clock = clock.OrReal(opts.Clock)
	opts.Wall = clock.OrReal(opts.Wall)
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.WakeDelay <= 0 {
		opts.WakeDelay = DefaultWakeDelay
	}
	if opts.SleepAfter <= 0 {
		opts.SleepAfter = DefaultSleepAfter
	}
	s := &Sim{
		opts:     opts,
		clock:    opts.Clock,
		wall:     opts.Wall,
		counts:   map[string]int{},
		counted:  make(chan struct{}),
		executed: map[string]int{},
		billable: map[fleet.Category]int{},
		ble:      newBLEState(),
	}
	now := s.clock.Now()
	if opts.Vehicles > 0 || opts.EnergySites > 0 {
		s.vehicles = generatedVehicles(opts.Vehicles, now)
		s.sites = generatedSites(opts.EnergySites, now)
	} else {
		s.vehicles = defaultVehicles(now)
		s.sites = defaultSites(now)
	}
	return s
}

// Handler returns the simulator as an http.Handler (the Sim itself).
func (s *Sim) Handler() http.Handler { return s }

// Now returns the simulator's current time (its clock's Now).
func (s *Sim) Now() time.Time { return s.clock.Now() }

// advanceLocked brings every car and site up to now. Callers hold s.mu.
func (s *Sim) advanceLocked(now time.Time) {
	for _, v := range s.vehicles {
		v.runScript(now, s.opts.SleepAfter)
		v.advance(now, s.opts.SleepAfter)
	}
	for _, st := range s.sites {
		st.advance(now)
	}
}

// ---- counters ----

// Counts returns the number of responses per metering endpoint name
// ("products", "vehicles", "vehicle", "vehicle_data", "wake_up",
// "live_status", "site_info", "users_region", "command", …), whatever their
// status. Requests to unknown paths are not counted.
func (s *Sim) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// CommandsByDevice returns how many REST commands each car (by VIN) and
// energy site (by id) carried out since the last ResetCounts, so that a
// test with several bridges can tell a command that ran twice from one
// that ran once. Commands the car refused before running (asleep,
// signing required, a bad body) are not counted.
func (s *Sim) CommandsByDevice() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.executed)
}

// Billable returns the number of billable responses (status < 500, as Tesla
// bills them) per billing category, so tests can check what a feature costs.
func (s *Sim) Billable() map[fleet.Category]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.billable)
}

// ResetCounts clears Counts and Billable.
func (s *Sim) ResetCounts() {
	s.mu.Lock()
	s.counts = map[string]int{}
	s.executed = map[string]int{}
	s.billable = map[fleet.Category]int{}
	s.mu.Unlock()
}

// WaitCount waits until Counts()[endpoint] reaches at least n, or ctx
// ends. Tests use it for work the bridge does off the request's path
// (a get's read runs on a polling goroutine), instead of polling.
func (s *Sim) WaitCount(ctx context.Context, endpoint string, n int) error {
	for {
		s.mu.Lock()
		got, ch := s.counts[endpoint], s.counted
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fleetsim: %d %s responses, waiting for %d: %w", got, endpoint, n, ctx.Err())
		}
	}
}

func (s *Sim) countLocked(endpoint string, status int) {
	s.counts[endpoint]++
	close(s.counted)
	s.counted = make(chan struct{})
	if fleet.Billable(status) {
		s.billable[categoryOf(endpoint)]++
	}
}

// ---- controls for tests ----

// VINs returns the VINs of the simulated cars, in product order.
func (s *Sim) VINs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.vehicles))
	for i, v := range s.vehicles {
		out[i] = v.snap.VIN
	}
	return out
}

// SiteIDs returns the energy_site_id of every simulated energy site.
func (s *Sim) SiteIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, len(s.sites))
	for i, st := range s.sites {
		out[i] = st.id
	}
	return out
}

// VehicleState returns "online", "asleep" or "offline" for the car as of
// the clock's now, or "" for an unknown VIN. It does not count as activity.
func (s *Sim) VehicleState(vin string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock.Now())
	if v := s.vehicleByTag(vin); v != nil {
		return v.snap.State
	}
	return ""
}

// SetVehicleState forces a car into "online", "asleep" or "offline" (e.g. to
// test offline handling). Forcing "online" restarts the idle timer; any
// pending wake is cancelled.
func (s *Sim) SetVehicleState(vin, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.advanceLocked(now)
	v := s.vehicleByTag(vin)
	if v == nil {
		return fmt.Errorf("fleetsim: unknown vehicle %q", vin)
	}
	return v.setState(state, now)
}

// Snapshot returns the main simulated values of a car as of the clock's
// now (the zero value for an unknown VIN). It does not count as activity.
func (s *Sim) Snapshot(vin string) VehicleSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock.Now())
	if v := s.vehicleByTag(vin); v != nil {
		return v.snap
	}
	return VehicleSnapshot{}
}

// Update changes a car's simulated values in place (plug it in, start
// driving, unlock it…). The VIN cannot be changed; a changed State is
// applied as by SetVehicleState.
func (s *Sim) Update(vin string, fn func(*VehicleSnapshot)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.advanceLocked(now)
	v := s.vehicleByTag(vin)
	if v == nil {
		return fmt.Errorf("fleetsim: unknown vehicle %q", vin)
	}
	snap := v.snap
	fn(&snap)
	snap.VIN = v.snap.VIN
	newState := snap.State
	snap.State = v.snap.State
	v.snap = snap
	if newState != v.snap.State {
		return v.setState(newState, now)
	}
	return nil
}

// Site returns the main simulated values of an energy site as of the
// clock's now (the zero value for an unknown id).
func (s *Sim) Site(id int64) SiteSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock.Now())
	if st := s.siteByID(id); st != nil {
		return st.snapshot()
	}
	return SiteSnapshot{}
}

// UpdateSite changes an energy site's settings in place (backup reserve,
// operation mode, grid outage…). The id and computed powers cannot be changed.
func (s *Sim) UpdateSite(id int64, fn func(*SiteSnapshot)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock.Now())
	st := s.siteByID(id)
	if st == nil {
		return fmt.Errorf("fleetsim: unknown energy site %d", id)
	}
	snap := st.snapshot()
	fn(&snap)
	st.apply(snap)
	return nil
}
