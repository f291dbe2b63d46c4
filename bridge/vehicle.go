package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The car kind: the account's vehicles. The cheap connectivity check
// (vehicle_poll.go) tells which cars are awake, the policy (economy.Car)
// which of those to read on which schedule; fleet_status tells their key
// pairing (vehicle_pairing.go) and Fleet Telemetry streams their data
// (vehicle_stream.go). Reads, commands and wakes go through a route
// (route.go), chosen per request.

// cars is the car family.
type cars struct {
	b *Bridge
	// policies are the cars' polling states by VIN; a car that leaves the
	// account and comes back keeps its own. Guarded by b.mu.
	policies map[string]*economy.Car
	// fleet is the Fleet API route, the one every car has.
	fleet route
}

func newCars(b *Bridge) *cars {
	w := command.Waker{API: wakeAPI{b}, Clock: b.opts.Clock, Timeout: b.opts.Commands.WakeTimeout,
		Interval: b.opts.Commands.WakePollInterval}
	return &cars{b: b, policies: map[string]*economy.Car{}, fleet: fleetRoute{b: b, waker: w}}
}

// car is one car: its view and what the bridge keeps about it.
type car struct {
	kindBase
	cs *cars
	d  *device
	v  *entity.VehicleView
	// keyRecheckUntil: after a key_not_paired result, pairing is re-checked
	// until then so the entity turns on soon after the user pairs;
	// keyCheckedAt paces those checks (vehicle_pairing.go).
	keyRecheckUntil, keyCheckedAt time.Time
	// missingBlocks are the asked-for blocks the last read lacked, logged
	// once per change.
	missingBlocks string
}

// adopt implements family: every vehicle product is a car.
func (cs *cars) adopt(p fleet.Product) (string, func() *device) {
	if !p.IsVehicle() {
		return "", nil
	}
	return p.VIN, func() *device {
		name := p.VIN
		for _, v := range cs.b.opts.Vehicles {
			if v.VIN == p.VIN && v.Name != "" {
				name = v.Name
			}
		}
		c := &car{cs: cs, v: &entity.VehicleView{VIN: p.VIN, DisplayName: p.DisplayName, State: p.State,
			CommandSigning: p.CommandSigning}}
		c.d = cs.b.newDevice(name, p.VIN, c)
		return c.d
	}
}

// start implements family: the first connectivity check reads the cars
// that are awake; then every online car it did not read.
func (cs *cars) start(ctx context.Context) {
	cs.pollConnectivity(ctx)
	cs.pollOnline(ctx)
}

// jobs implements family. The fleet_status job runs its first check as it
// is built, and hooks the post-failure re-check onto the connectivity
// schedule.
func (cs *cars) jobs(ctx context.Context) []job {
	s := cs.b.opts.Schedule
	fleetStatus := cs.fleetStatusJob(ctx)
	pricedCheck := cs.b.opts.Budget.Prices().Connectivity > 0
	jobs := []job{
		{"connectivity", s.Connectivity, func() { cs.pollConnectivity(ctx) }, pricedCheck, true},
		{economy.JobDriving, s.VehicleDataDriving, func() { cs.pollJob(ctx, economy.JobDriving) }, true, true},
		{economy.JobCharging, s.VehicleDataCharging, func() { cs.pollJob(ctx, economy.JobCharging) }, true, true},
		{economy.JobIdle, s.VehicleDataIdle, func() { cs.pollJob(ctx, economy.JobIdle) }, true, true},
		{"fleet_status", s.FleetStatus, fleetStatus, false, true},
	}
	return jobs
}

// prepareRefresh implements family: one connectivity check serves every
// car of the request, and a car it found newly online is read by it.
func (cs *cars) prepareRefresh(ctx context.Context, r *refreshing) {
	for _, d := range r.due {
		if _, ok := d.k.(*car); ok {
			r.checked = cs.pollConnectivity(ctx)
			return
		}
	}
}

// all returns the cars, ordered by name.
func (cs *cars) all() []*car {
	var out []*car
	for _, d := range cs.b.sortedDevices() {
		if c, ok := d.k.(*car); ok {
			out = append(out, c)
		}
	}
	return out
}

// byVIN returns the car with vin, or nil. Callers hold b.mu.
func (cs *cars) byVIN(vin string) *car {
	if d := cs.b.byUID[vin]; d != nil {
		if c, ok := d.k.(*car); ok {
			return c
		}
	}
	return nil
}

// policyLocked returns the car's policy, creating it. Callers hold b.mu.
func (cs *cars) policyLocked(vin string) *economy.Car {
	p := cs.policies[vin]
	if p == nil {
		p = &economy.Car{}
		cs.policies[vin] = p
	}
	return p
}

func (c *car) kindName() string        { return "vehicle" }
func (c *car) view() any               { return c.v }
func (c *car) table() []*entity.Spec   { return entity.VehicleTable() }
func (c *car) hassDevice() hass.Device { return entity.VehicleDevice(c.v, c.d.name) }

// stateKeys: a car's state is its Fleet state, and the state object says
// which source updated the data last.
func (c *car) stateKeys(m map[string]any) {
	m["state"] = c.v.State
	m["data_source"], m["telemetry_at"] = c.v.SourceKeys()
}

// describe: the Fleet state and polling state on bridge/info; on the
// status page the pairing and signing a user has to act on.
func (c *car) describe(di *DeviceInfo, ds *DeviceStatus) {
	if di != nil {
		di.State = c.v.State
		if p := c.cs.policies[c.d.uid]; p != nil {
			di.polling = p.State()
		}
	}
	if ds != nil {
		ds.FleetState = c.v.State
		ds.CommandSigning = c.v.CommandSigning
		ds.SigningRequired = ds.CommandSigning == "required"
		if c.d.entity("key_paired") != nil && c.v.KeyPaired != nil {
			p := *c.v.KeyPaired
			ds.KeyPaired = &p
		}
		if dom := c.d.b.opts.Domain; dom != "" {
			ds.PairingURL = fleet.PairingURL(dom, c.d.uid)
		}
	}
}

// refresh reads the car now if it is online and the request's
// connectivity check did not just read it.
func (c *car) refresh(ctx context.Context, r *refreshing) {
	if c.online() && !r.checked[c.d] {
		c.read(ctx)
	}
}

// confirm reads the car once after a command, if it is online.
func (c *car) confirm(ctx context.Context) {
	if c.online() {
		c.read(ctx)
	}
}

// online reports the car's last known Fleet state.
func (c *car) online() bool {
	c.d.b.mu.Lock()
	defer c.d.b.mu.Unlock()
	return c.v.State == fleet.StateOnline
}

// send wakes the car when needed and sends the command on the car's route.
func (c *car) send(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, bool, error) {
	online, r := c.online(), c.route()
	if cmd.Name == "wake_up" {
		if online {
			return &fleet.CommandResult{Result: true, Reason: "already online"}, false, nil
		}
		if err := c.wake(ctx, r); err != nil {
			return nil, false, err
		}
		return &fleet.CommandResult{Result: true}, true, nil
	}
	woke := false
	if !online {
		if err := c.wake(ctx, r); err != nil {
			return nil, false, err
		}
		woke = true
	}
	cr, err := r.command(ctx, c.d.uid, cmd)
	if errors.Is(err, fleet.ErrAsleep) && !woke {
		// The car fell asleep since the last check: wake it and try once more.
		if werr := c.wake(ctx, r); werr != nil {
			return nil, false, werr
		}
		woke = true
		cr, err = r.command(ctx, c.d.uid, cmd)
	}
	return cr, woke, err
}

// wake wakes the car on r and publishes it online.
func (c *car) wake(ctx context.Context, r route) error {
	if err := r.wake(ctx, c.d.uid); err != nil {
		return err
	}
	c.d.b.mu.Lock()
	c.v.State = fleet.StateOnline
	c.d.b.mu.Unlock()
	c.d.b.publishState(c.d, false)
	return nil
}

// noteResult: a key_not_paired result turns the key_paired entity off and
// starts the pairing re-check.
func (c *car) noteResult(r command.Result) {
	if r.Code() != command.CodeKeyNotPaired {
		return
	}
	now := c.d.b.now()
	c.v.KeyPaired = entity.Ptr(false)
	c.keyRecheckUntil = now.Add(pairingRecheckFor)
	c.keyCheckedAt = now
}
