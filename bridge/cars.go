package bridge

import (
	"context"
	"errors"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The car family as the bridge drives it: which products are cars, their
// first reads and polling jobs, and what a car does on request (a refresh,
// a command with its wake, the read that confirms it). It sits on top of
// the car's other files: vehicle.go, vehicle_stream.go, vehicle_poll.go,
// vehicle_pairing.go.

func newCars(b *Bridge) *cars {
	w := command.Waker{API: wakeAPI{b}, Clock: b.opts.Clock, Timeout: b.opts.Commands.WakeTimeout,
		Interval: b.opts.Commands.WakePollInterval}
	return &cars{b: b, policies: map[string]*economy.Car{}, fleet: fleetRoute{b: b, waker: w}}
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
		c.d = newDevice(name, p.VIN, c)
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
	c.cs.b.mu.Lock()
	c.v.State = fleet.StateOnline
	c.cs.b.mu.Unlock()
	c.cs.b.publishState(c.d, false)
	return nil
}

// SubscribeTelemetry starts the Fleet Telemetry ingest on sub (nil: the
// bridge's own broker connection) into the cars, and schedules the safety
// read, which Run carries out.
func (b *Bridge) SubscribeTelemetry(sub telemetry.Subscriber) error {
	if sub == nil {
		sub = b.pub
	}
	if err := telemetry.New(b.opts.Telemetry, b.carFamily(), b.opts.Clock, b.log).Subscribe(sub); err != nil {
		return err
	}
	if spec := b.opts.Telemetry.SafetyRead; spec != "" {
		job := func() { b.guard("telemetry_safety_read", func() { b.within(b.carFamily().safetyRead) }) }
		if err := b.opts.Scheduler.Add("telemetry_safety_read", spec, job); err != nil {
			return err
		}
	}
	return nil
}
