package device

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// connectivityGate is the fault gate of the account-wide vehicle list.
const connectivityGate = "/vehicles"

// pollConnectivity reads the state of every car with one GET
// /api/1/vehicles, which never wakes a car, runs each car's quiet and
// suspend timers, and reads at once a car that has just come online (its
// user or a command woke it). It returns the cars it read, so a refresh
// does not read them a second time.
func (cs *cars) pollConnectivity(ctx context.Context) (read map[*Device]bool) {
	r := cs.r
	now := r.now()
	if !r.readAllowed(connectivityGate, now) {
		return nil
	}
	vs, err := r.fleet.Vehicles(ctx)
	r.readDone(connectivityGate, "", err, now)
	if err != nil {
		r.readLog(err).Err(err).Msg("connectivity check failed")
		return nil
	}
	type change struct {
		c     *car
		state string
	}
	var changed []change
	var woke []*car
	r.mu.Lock()
	for _, v := range vs {
		c := cs.byVIN(v.VIN)
		if c == nil {
			continue
		}
		if v.CommandSigning != "" {
			c.v.CommandSigning = v.CommandSigning
		}
		if c.v.State != v.State {
			c.v.State = v.State
			changed = append(changed, change{c, v.State})
		}
		p := cs.policyLocked(v.VIN)
		// A car read a moment ago (the fresh read after a command that woke
		// it) needs no second read.
		seen := p.State() != ""
		if p.Connectivity(v.State, now, r.opts.Policy) && now.Sub(p.LastRead()) >= time.Minute && !cs.streamAliveLocked(c) {
			woke = append(woke, c)
			if seen {
				p.WokeRead(now)
			}
		}
	}
	r.mu.Unlock()
	for _, ch := range changed {
		r.log.Info().Str("device", ch.c.d.name).Str("state", ch.state).Msg("fleet state changed")
		r.host.State(ch.c.d, false)
	}
	read = map[*Device]bool{}
	for _, c := range woke {
		read[c.d] = true
	}
	cs.round(ctx, woke)
	r.host.Checked(now)
	return read
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
// refresh request; all of them wait out a 429, a back-off or a paused
// account.
func (c *car) read(ctx context.Context) {
	r, d := c.cs.r, c.d
	r.mu.Lock()
	vin := d.uid
	eps := entity.Endpoints(d.rows)
	r.mu.Unlock()
	gate := vin + "/" + fleet.CallVehicleData
	if start := r.now(); !r.readAllowed(gate, start) {
		return
	}
	data, err := c.route().read(ctx, vin, eps)
	now := r.now()
	r.readDone(gate, d.name, err, now)
	r.mu.Lock()
	var rediscover bool
	p := c.cs.policyLocked(vin)
	switch {
	case err == nil:
		c.keepLastGood(data, eps)
		c.v.Merge(data)
		c.v.State = fleet.StateOnline
		c.v.LastSeen = now
		d.updatedAt = now
		d.lastError = ""
		p.Observe(&c.v.Data, now, r.opts.Policy)
		if hd := c.hassDevice(); !reflect.DeepEqual(hd, d.hassDevice) {
			d.hassDevice = hd
			rediscover = true
		}
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
		r.readLog(err).Err(err).Str("device", d.name).Msg("vehicle_data failed; keeping the last values")
	}
	if rediscover {
		r.host.Discovery(d)
	}
	r.host.State(d, false)
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
	cs.r.pool.round(ctx, ds, func(ctx context.Context, d *Device) { d.k.(*car).read(ctx) })
}
