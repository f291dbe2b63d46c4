package bridge

import (
	"context"
	"errors"
	"reflect"
	"sort"

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

// PollConnectivity reads the state of every car with one GET /api/1/vehicles,
// which never wakes a car. A car that came online is read at once.
func (b *Bridge) PollConnectivity(ctx context.Context) {
	vs, err := b.fleet.Vehicles(ctx)
	if err != nil {
		b.log.Warn().Err(err).Msg("connectivity check failed")
		return
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
			if v.State == fleet.StateOnline {
				woke = append(woke, d)
			}
			d.vehicle.State = v.State
			changed = append(changed, change{d, v.State})
		}
	}
	b.mu.Unlock()
	for _, c := range changed {
		b.log.Info().Str("device", c.d.name).Str("state", c.state).Msg("fleet state changed")
		b.publishState(c.d, false)
	}
	for _, d := range woke {
		b.pollVehicle(ctx, d)
	}
}

// PollVehicles reads vehicle_data for every online car in the given mode
// ("" = every online car). Cars that are not online are never read: reading
// would only cost a billable 408, and waking them is for commands alone.
func (b *Bridge) PollVehicles(ctx context.Context, m string) {
	for _, d := range b.sortedDevices() {
		if d.kind != kindVehicle {
			continue
		}
		b.mu.Lock()
		online := d.vehicle.State == fleet.StateOnline
		dm := mode(d.vehicle)
		b.mu.Unlock()
		if !online || (m != "" && dm != m) {
			continue
		}
		b.pollVehicle(ctx, d)
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

// pollVehicle reads one car's vehicle_data and publishes the result.
func (b *Bridge) pollVehicle(ctx context.Context, d *device) {
	b.mu.Lock()
	vin := d.uid
	eps := d.endpoints()
	b.mu.Unlock()
	data, err := b.fleet.VehicleData(ctx, vin, eps)
	now := b.opts.Now()
	b.mu.Lock()
	var rediscover bool
	switch {
	case err == nil:
		d.vehicle.merge(data)
		d.vehicle.State = fleet.StateOnline
		d.vehicle.LastSeen = now
		d.updatedAt = now
		d.lastError = ""
		hd := vehicleHassDevice(d)
		if !reflect.DeepEqual(hd, d.hassDevice) {
			d.hassDevice = hd
			rediscover = true
		}
	case errors.Is(err, fleet.ErrAsleep):
		d.vehicle.State = fleet.StateAsleep
		d.lastError = ""
	default:
		d.lastError = err.Error()
	}
	b.mu.Unlock()
	if err != nil && !errors.Is(err, fleet.ErrAsleep) {
		b.log.Warn().Err(err).Str("device", d.name).Msg("vehicle_data failed; keeping the last values")
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
	ls, err := b.fleet.LiveStatus(ctx, d.site.ID)
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		d.lastError = err.Error()
		b.log.Warn().Err(err).Str("device", d.name).Msg("live_status failed; keeping the last values")
		return
	}
	if ls != nil {
		d.site.Live = ls
	}
	d.updatedAt = now
	d.lastError = ""
}

func (b *Bridge) readSiteInfo(ctx context.Context, d *device) {
	info, err := b.fleet.SiteInfo(ctx, d.site.ID)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		d.lastError = err.Error()
		b.log.Warn().Err(err).Str("device", d.name).Msg("site_info failed; keeping the last values")
		return
	}
	if info != nil {
		d.site.Info = info
	}
	d.updatedAt = b.opts.Now()
}
