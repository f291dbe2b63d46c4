package bridge

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Car conditions that pick a vehicle_data schedule.
const (
	modeDriving  = "driving"
	modeCharging = "charging"
	modeIdle     = "idle"
)

// mode tells what the car is doing from its last known data.
func mode(v *VehicleView) string {
	if d := v.Data.Drive; d != nil {
		if d.ShiftState != nil && (*d.ShiftState == "D" || *d.ShiftState == "R" || *d.ShiftState == "N") {
			return modeDriving
		}
		if d.Speed != nil && *d.Speed > 0 {
			return modeDriving
		}
	}
	if c := v.Data.Charge; c != nil && c.ChargingState != nil {
		if s := *c.ChargingState; s == "Charging" || s == "Starting" {
			return modeCharging
		}
	}
	return modeIdle
}

// PollConnectivity reads the state of every car with one GET
// /api/1/vehicles, which never wakes a car, runs each car's quiet and
// suspend timers against Options.Now, and reads at once a car that has just
// come online (its user or a command woke it).
func (b *Bridge) PollConnectivity(ctx context.Context) { b.pollConnectivity(ctx) }

// pollConnectivity is PollConnectivity; it returns the cars it read, so a
// refresh does not read them a second time.
func (b *Bridge) pollConnectivity(ctx context.Context) (read map[*device]bool) {
	now := b.now()
	if b.pollingPaused(now) || !b.gateAllows(connectivityGate, now) {
		return nil
	}
	vs, err := b.fleet.Vehicles(ctx)
	b.gateDone(connectivityGate, "", err, now)
	if err != nil {
		b.readLog(err).Err(err).Msg("connectivity check failed")
		return nil
	}
	type change struct {
		d     *device
		state string
	}
	var changed []change
	var woke []*device
	b.mu.Lock()
	for _, v := range vs {
		d := b.byUID[v.VIN]
		if d == nil || d.vehicle == nil {
			continue
		}
		if v.CommandSigning != "" {
			d.vehicle.CommandSigning = v.CommandSigning
		}
		if d.vehicle.State != v.State {
			d.vehicle.State = v.State
			changed = append(changed, change{d, v.State})
		}
		p := b.policyLocked(d)
		// A car read a moment ago (the fresh read after a command that woke
		// it) needs no second read.
		seen := p.state != ""
		if p.connectivity(v.State, now, b.opts.Policy) && now.Sub(p.lastRead) >= time.Minute && !b.streamAliveLocked(d) {
			woke = append(woke, d)
			if seen {
				p.wokeRead = now
			}
		}
	}
	b.mu.Unlock()
	for _, c := range changed {
		b.log.Info().Str("device", c.d.name).Str("state", c.state).Msg("fleet state changed")
		b.publishState(c.d, false)
	}
	read = map[*device]bool{}
	for _, d := range woke {
		b.pollVehicle(ctx, d)
		read[d] = true
	}
	b.budgetTick(now)
	return read
}

// connectivityGate is the fault gate of the account-wide vehicle list.
const connectivityGate = "/vehicles"

// policyLocked returns the car's policy, creating it. Callers hold b.mu.
func (b *Bridge) policyLocked(d *device) *carPolicy {
	p := b.policies[d.uid]
	if p == nil {
		p = &carPolicy{}
		b.policies[d.uid] = p
	}
	return p
}

// pollJob reads the online cars whose policy state belongs to job (one of
// the vehicle_data_* jobs). Cars that are asleep, offline or suspended are
// never read: reading would only cost a billable 408 or keep them awake.
func (b *Bridge) pollJob(ctx context.Context, job string) {
	now := b.now()
	for _, d := range b.sortedDevices() {
		if d.kind != kindVehicle {
			continue
		}
		b.mu.Lock()
		p := b.policyLocked(d)
		p.tick(now, b.opts.Policy)
		// A car whose Fleet Telemetry stream is alive is not polled (telemetry.go).
		due := d.vehicle.State == fleet.StateOnline && p.job() == job &&
			(p.wokeRead.IsZero() || now.Sub(p.wokeRead) >= wokeReadWindow) && !b.streamAliveLocked(d)
		b.mu.Unlock()
		if due {
			b.pollVehicle(ctx, d)
		}
	}
}

// pollOnline reads, at start, every online car the first connectivity
// check has not read.
func (b *Bridge) pollOnline(ctx context.Context) {
	for _, d := range b.sortedDevices() {
		if d.kind != kindVehicle {
			continue
		}
		b.mu.Lock()
		online := d.vehicle.State == fleet.StateOnline && b.policyLocked(d).lastRead.IsZero()
		b.mu.Unlock()
		if online {
			b.pollVehicle(ctx, d)
		}
	}
}

// endpoints is the union of the sources of the device's entities: the bridge
// fetches no more than it publishes.
func (d *device) endpoints() []fleet.Endpoint {
	set := map[fleet.Endpoint]bool{}
	for _, e := range d.entities {
		switch e.source {
		case "", SourceBridge:
			continue
		case fleet.LocationData:
			// location_data arrives inside drive_state.
			set[fleet.DriveState] = true
		}
		set[e.source] = true
	}
	// vehicle_config feeds the device block (model) even without an entity.
	set[fleet.VehicleConfig] = true
	out := make([]fleet.Endpoint, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// pollVehicle reads one car's vehicle_data and publishes the result. It is
// also the fresh read after a command and the read of a get or refresh
// request; all of them wait out a 429, a back-off or a paused account.
func (b *Bridge) pollVehicle(ctx context.Context, d *device) {
	b.mu.Lock()
	vin := d.uid
	eps := d.endpoints()
	b.mu.Unlock()
	gate := vin + "/" + fleet.CallVehicleData
	if start := b.now(); b.pollingPaused(start) || !b.gateAllows(gate, start) {
		return
	}
	data, err := b.fleet.VehicleData(ctx, vin, eps)
	now := b.now()
	b.gateDone(gate, d.name, err, now)
	b.mu.Lock()
	var rediscover bool
	p := b.policyLocked(d)
	switch {
	case err == nil:
		b.keepLastGood(d, data, eps)
		d.vehicle.merge(data)
		d.vehicle.State = fleet.StateOnline
		d.vehicle.LastSeen = now
		d.updatedAt = now
		d.lastError = ""
		p.observe(d.vehicle, now, b.opts.Policy)
		hd := vehicleHassDevice(d)
		if !reflect.DeepEqual(hd, d.hassDevice) {
			d.hassDevice = hd
			rediscover = true
		}
	case errors.Is(err, fleet.ErrAsleep):
		d.vehicle.State = fleet.StateAsleep
		d.lastError = ""
		p.asleep()
	default:
		d.lastError = err.Error()
	}
	b.mu.Unlock()
	// A 429 is logged once, by gateDone.
	if err != nil && !errors.Is(err, fleet.ErrAsleep) && !errors.Is(err, fleet.ErrRateLimited) {
		b.readLog(err).Err(err).Str("device", d.name).Msg("vehicle_data failed; keeping the last values")
	}
	if rediscover {
		b.publishDiscovery(d)
	}
	b.publishState(d, false)
}

// PollSites reads live_status of every site (and site_info when withInfo).
// A site that discover has just read is published from those reads.
func (b *Bridge) PollSites(ctx context.Context, withInfo bool) {
	for _, d := range b.sortedDevices() {
		if d.kind != kindSite {
			continue
		}
		b.mu.Lock()
		primed := d.site.primed
		d.site.primed = false
		b.mu.Unlock()
		if primed {
			b.publishSite(d)
			continue
		}
		b.pollSite(ctx, d, withInfo)
	}
}

func (b *Bridge) pollSiteInfo(ctx context.Context) {
	for _, d := range b.sortedDevices() {
		if d.kind != kindSite {
			continue
		}
		b.readSiteInfo(ctx, d)
		b.publishSite(d)
	}
}

// siteGate checks a site read against a running pause and the site's own
// back-off; done records its outcome.
func (b *Bridge) siteGate(d *device, call string) (ok bool, done func(error)) {
	key := d.uid + "/" + call
	now := b.now()
	if b.pollingPaused(now) || !b.gateAllows(key, now) {
		return false, nil
	}
	return true, func(err error) { b.gateDone(key, d.name, err, b.now()) }
}

// pollSite reads one site's live status (and site info) and publishes.
func (b *Bridge) pollSite(ctx context.Context, d *device, withInfo bool) {
	if withInfo {
		b.readSiteInfo(ctx, d)
	}
	b.readLiveStatus(ctx, d)
	b.publishSite(d)
}

// refreshSite reads a site's site_info and live_status once, now: the
// command pipeline calls it after an energy command, whose effect shows in
// site_info (settings) and live_status (powers).
func (b *Bridge) refreshSite(ctx context.Context, d *device) {
	b.pollSite(ctx, d, true)
}

// primeSite reads a new site before its first discovery, so it is offered
// only the entities it can use and starts with today's totals.
func (b *Bridge) primeSite(ctx context.Context, d *device) {
	b.readSiteInfo(ctx, d)
	b.readLiveStatus(ctx, d)
	b.readSiteHistory(ctx, d)
	b.mu.Lock()
	b.applySiteCapabilities(d)
	d.site.primed = true
	b.mu.Unlock()
}

// publishSite publishes a site after a read: discovery again if what the
// site can do changed, its state, then its Wall Connectors.
func (b *Bridge) publishSite(d *device) {
	b.mu.Lock()
	changed := b.applySiteCapabilities(d)
	b.mu.Unlock()
	if changed {
		b.log.Info().Str("device", d.name).Msg("site capabilities changed; republishing discovery")
		b.publishDiscovery(d)
	}
	b.publishState(d, false)
	b.publishWallConnectors(d)
}

func (b *Bridge) readLiveStatus(ctx context.Context, d *device) {
	ok, done := b.siteGate(d, fleet.CallLiveStatus)
	if !ok {
		return
	}
	ls, err := b.fleet.LiveStatus(ctx, d.site.ID)
	done(err)
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		d.lastError = err.Error()
		b.readLog(err).Err(err).Str("device", d.name).Msg("live_status failed; keeping the last values")
		return
	}
	if ls != nil {
		d.site.Live = ls
	}
	d.updatedAt = now
	d.lastError = ""
}

func (b *Bridge) readSiteInfo(ctx context.Context, d *device) {
	ok, done := b.siteGate(d, fleet.CallSiteInfo)
	if !ok {
		return
	}
	info, err := b.fleet.SiteInfo(ctx, d.site.ID)
	done(err)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		d.lastError = err.Error()
		b.readLog(err).Err(err).Str("device", d.name).Msg("site_info failed; keeping the last values")
		return
	}
	if info != nil {
		d.site.Info = info
	}
	d.updatedAt = b.now()
}

// readLog picks the level of a failed read's log line. Without a usable
// login every read fails for the same reason, which the account already
// reported once (log line, event, problem sensor): those become debug lines
// instead of a warning per device a minute.
func (b *Bridge) readLog(err error) *zerolog.Event {
	if errors.Is(err, fleet.ErrLoginRequired) || errors.Is(err, fleet.ErrNoToken) {
		return b.log.Debug()
	}
	return b.log.Warn()
}
