package device

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// connectivityGate is the fault gate of the account-wide vehicle list.
const connectivityGate = "/vehicles"

// pollConnectivity checks the state of every car and reads at once a car
// that has just come online (its user or a command woke it). A car whose
// route is Bluetooth asks its body controller (free, never wakes it);
// the others share one GET /api/1/vehicles, which never wakes a car
// either, and is left out when every car answered over Bluetooth. The
// quiet and suspend timers run on what the checks say. It returns the
// cars it read, so a refresh does not read them a second time.
func (cs *cars) pollConnectivity(ctx context.Context) (read map[*Device]bool) {
	r := cs.r
	now := r.now()
	read = map[*Device]bool{}
	cloud, answered := cs.checkBLE(ctx, now, read)
	switch {
	case answered == 0:
		cloud = nil // every car
	case len(cloud) == 0:
		r.host.Checked(now)
		return read
	}
	cs.checkCloud(ctx, now, cloud, read)
	return read
}

// checkCloud is the Fleet API's check of cars (nil: every car): one GET
// /api/1/vehicles for all of them.
func (cs *cars) checkCloud(ctx context.Context, now time.Time, cars []*car, read map[*Device]bool) {
	r := cs.r
	if !r.reads.Allowed(connectivityGate, now) {
		return
	}
	vs, err := r.fleet.Vehicles(ctx)
	r.reads.Done(connectivityGate, "", err, now)
	if err != nil {
		r.reads.LogFor(err).Err(err).Msg("connectivity check failed")
		return
	}
	type change struct {
		c     *car
		state string
	}
	var changed []change
	var woke []*car
	only := map[*car]bool{}
	for _, c := range cars {
		only[c] = true
	}
	r.mu.Lock()
	for _, v := range vs {
		c := cs.byVIN(v.VIN)
		if c == nil || cars != nil && !only[c] {
			continue
		}
		if v.CommandSigning != "" {
			c.v.CommandSigning = v.CommandSigning
		}
		ch, w := cs.applyStateLocked(c, v.State, now)
		if ch {
			changed = append(changed, change{c, v.State})
		}
		if w {
			woke = append(woke, c)
		}
	}
	r.mu.Unlock()
	for _, ch := range changed {
		r.log.Info().Str("device", ch.c.d.name).Str("state", ch.state).Msg("fleet state changed")
		r.host.State(ch.c.d, false)
	}
	for _, c := range woke {
		read[c.d] = true
	}
	cs.round(ctx, woke)
	r.host.Checked(now)
}

// applyStateLocked applies a check's state to a car and its policy. woke
// is true for a car that has just come online and should be read now: not
// one read a moment ago (the fresh read after a command that woke it),
// nor one whose stream is alive. Callers hold r.mu.
func (cs *cars) applyStateLocked(c *car, state string, now time.Time) (changed, woke bool) {
	if c.v.State != state {
		c.v.State = state
		changed = true
	}
	p := cs.policyLocked(c.d.uid)
	seen := p.State() != ""
	if p.Connectivity(state, now, cs.r.opts.Policy) && now.Sub(p.LastRead()) >= time.Minute && !cs.streamAliveLocked(c) {
		woke = true
		if seen {
			p.WokeRead(now)
		}
	}
	return changed, woke
}

// pollJob reads the online cars whose policy state belongs to job (one of
// the vehicle_data_* jobs). Cars that are asleep, offline or suspended are
// never read: reading would only cost a billable 408 or keep them awake. A
// car whose Fleet Telemetry stream is alive is not polled either.
func (cs *cars) pollJob(ctx context.Context, job string) {
	r := cs.r
	now := r.now()
	var due []*car
	for _, c := range cs.all() {
		r.mu.Lock()
		p := cs.policyLocked(c.d.uid)
		p.Tick(now, r.opts.Policy)
		if c.v.State == fleet.StateOnline && p.Due(job, now) && !cs.streamAliveLocked(c) {
			due = append(due, c)
		}
		r.mu.Unlock()
	}
	cs.round(ctx, due)
}

// pollOnline reads, at start, every online car the first connectivity
// check has not read.
func (cs *cars) pollOnline(ctx context.Context) {
	r := cs.r
	var due []*car
	for _, c := range cs.all() {
		r.mu.Lock()
		if c.v.State == fleet.StateOnline && cs.policyLocked(c.d.uid).LastRead().IsZero() {
			due = append(due, c)
		}
		r.mu.Unlock()
	}
	cs.round(ctx, due)
}

// read reads one car's vehicle_data on its route and publishes the result.
// It is also the fresh read after a command and the read of a get or
// refresh request; on the Fleet API all of them wait out a 429, a back-off
// or a paused account, which do not concern a read over Bluetooth.
func (c *car) read(ctx context.Context) {
	r, d := c.cs.r, c.d
	r.mu.Lock()
	vin := d.uid
	eps := entity.Endpoints(d.rows)
	r.mu.Unlock()
	rt := c.route()
	ble := rt.Via() == entity.ViaBLE
	gate := vin + "/" + fleet.CallVehicleData
	if start := r.now(); !ble && !r.reads.Allowed(gate, start) {
		return
	}
	data, err := rt.Read(ctx, vin, eps)
	now := r.now()
	if ble && errors.Is(err, fleet.ErrBLEOutOfRange) {
		// The link went down: nothing is known that was not known before,
		// and the next check asks the cloud (or, for route = "only", says
		// offline).
		r.log.Debug().Str("device", d.name).Err(err).Msg("bluetooth read failed; keeping the last values")
		return
	}
	if !ble {
		r.reads.Done(gate, d.name, err, now)
	}
	r.mu.Lock()
	var rediscover, complete bool
	p := c.cs.policyLocked(vin)
	switch {
	case err == nil:
		if ble {
			c.v.MergeFields(data)
			if slices.Contains(eps, fleet.DriveState) {
				c.v.TakeMotion(data.Drive)
			}
			complete = c.incompleteLocked(now)
		} else {
			c.keepLastGood(data, eps)
			c.v.Merge(data)
		}
		c.v.State = fleet.StateOnline
		c.v.LastSeen, c.v.ReadVia = now, rt.Via()
		d.updatedAt = now
		d.lastError = ""
		p.Observe(&c.v.Data, now, r.opts.Policy)
		rediscover = c.rediscoverLocked()
	case errors.Is(err, fleet.ErrAsleep):
		c.v.State = fleet.StateAsleep
		d.lastError = ""
		p.Asleep()
	default:
		d.lastError = err.Error()
	}
	r.mu.Unlock()
	// A 429 is logged once, by the gate.
	if err != nil && !errors.Is(err, fleet.ErrAsleep) && !errors.Is(err, fleet.ErrRateLimited) {
		r.reads.LogFor(err).Err(err).Str("device", d.name).Str("via", rt.Via()).Msg("vehicle_data failed; keeping the last values")
	}
	if complete {
		rediscover = c.complete(ctx, eps) || rediscover
	}
	if rediscover {
		r.host.Discovery(d)
	}
	r.host.State(d, false)
}

// rediscoverLocked takes the HA device block the car's data gives now and
// reports whether it changed (model, firmware), so discovery goes out
// again. Callers hold r.mu.
func (c *car) rediscoverLocked() bool {
	hd := c.hassDevice()
	if reflect.DeepEqual(hd, c.d.hassDevice) {
		return false
	}
	c.d.hassDevice = hd
	return true
}

// keepLastGood prepares a successful read for merging: a field Tesla sent
// with an unexpected type keeps its last good value, and a block that was
// asked for but not returned (it keeps its last values through Merge) is
// logged once per change, not every poll. Callers hold r.mu.
func (c *car) keepLastGood(fresh *fleet.VehicleData, asked []fleet.Endpoint) {
	if fresh == nil {
		return
	}
	missing := c.v.KeepLastGood(fresh, asked)
	key := strings.Join(missing, ",")
	if key != c.missingBlocks {
		c.missingBlocks = key
		if key != "" {
			c.cs.r.log.Warn().Str("device", c.d.name).Strs("blocks", missing).Msg("vehicle_data lacked blocks; keeping their last values")
		}
	}
}

// safetyRead is the slow vehicle_data read of cars whose stream is alive:
// the regular schedules leave them alone, but some fields exist only in
// vehicle_data and a stream that silently lost a field should not hide it
// for ever.
func (cs *cars) safetyRead(ctx context.Context) {
	r := cs.r
	var due []*car
	for _, c := range cs.all() {
		r.mu.Lock()
		if c.v.State == fleet.StateOnline && cs.streamAliveLocked(c) {
			due = append(due, c)
		}
		r.mu.Unlock()
	}
	cs.round(ctx, due)
}

// round reads the cars on the registry's pool (pool.go), each on its lane.
func (cs *cars) round(ctx context.Context, due []*car) {
	ds := make([]*Device, len(due))
	for i, c := range due {
		ds[i] = c.d
	}
	cs.r.pool.Round(ctx, ds, func(ctx context.Context, d *Device) { d.k.(*car).read(ctx) })
}
