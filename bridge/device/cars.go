package device

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

func newCars(r *Registry) *cars {
	w := command.Waker{API: wakeAPI{r}, Clock: r.opts.Clock, Timeout: r.opts.WakeTimeout,
		Interval: r.opts.WakePollInterval}
	return &cars{r: r, policies: map[string]*economy.Car{}, fleet: fleetRoute{reg: r, waker: w}}
}

// adopt implements family: every vehicle product is a car.
func (cs *cars) adopt(p fleet.Product) (string, func() *Device) {
	if !p.IsVehicle() {
		return "", nil
	}
	return p.VIN, func() *Device {
		name := p.VIN
		if n := cs.r.opts.VehicleNames[p.VIN]; n != "" {
			name = n
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
func (cs *cars) jobs(ctx context.Context) []Job {
	s := cs.r.opts.Specs
	fleetStatus := cs.fleetStatusJob(ctx)
	pricedCheck := cs.r.opts.Budget.Prices().Connectivity > 0
	jobs := []Job{
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
func (cs *cars) prepareRefresh(ctx context.Context, rf *refreshing) {
	for _, d := range rf.due {
		if _, ok := d.k.(*car); ok {
			rf.checked = cs.pollConnectivity(ctx)
			return
		}
	}
}

// refresh reads the car now if it is online and the request's
// connectivity check did not just read it.
func (c *car) refresh(ctx context.Context, rf *refreshing) {
	if c.online() && !rf.checked[c.d] {
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
	online, rt := c.online(), c.route()
	if !online {
		if err := c.futileWake(cmd); err != nil {
			return nil, false, err
		}
	}
	if cmd.Name == "wake_up" {
		if online {
			return &fleet.CommandResult{Result: true, Reason: "already online"}, false, nil
		}
		if err := c.wake(ctx, rt); err != nil {
			return nil, false, err
		}
		return &fleet.CommandResult{Result: true}, true, nil
	}
	woke := false
	if !online {
		if err := c.wake(ctx, rt); err != nil {
			return nil, false, err
		}
		woke = true
	}
	if err := command.StartCheck(ctx); err != nil {
		return nil, woke, err // the wake took too long: never send late
	}
	cr, err := rt.command(ctx, c.d.uid, cmd)
	if errors.Is(err, fleet.ErrAsleep) && !woke {
		// The car fell asleep since the last check: wake it and try once more.
		if werr := c.wake(ctx, rt); werr != nil {
			return nil, false, werr
		}
		woke = true
		if err := command.StartCheck(ctx); err != nil {
			return nil, woke, err
		}
		cr, err = rt.command(ctx, c.d.uid, cmd)
	}
	return cr, woke, err
}

// wake wakes the car on rt and publishes it online.
func (c *car) wake(ctx context.Context, rt route) error {
	if err := rt.wake(ctx, c.d.uid); err != nil {
		return err
	}
	c.cs.r.mu.Lock()
	c.v.State = fleet.StateOnline
	c.cs.r.mu.Unlock()
	c.cs.r.host.State(c.d, false)
	return nil
}

// SubscribeTelemetry starts the Fleet Telemetry ingest on sub into the
// cars, and schedules the safety read, which the host runs.
func (r *Registry) SubscribeTelemetry(sub telemetry.Subscriber) error {
	if err := telemetry.New(r.opts.Telemetry, r.carFamily(), r.opts.Clock, r.log).Subscribe(sub); err != nil {
		return err
	}
	if spec := r.opts.Telemetry.SafetyRead; spec != "" {
		job := func() { r.guard("telemetry_safety_read", func() { r.host.Within(r.carFamily().safetyRead) }) }
		if err := r.opts.Scheduler.Add("telemetry_safety_read", spec, job); err != nil {
			return err
		}
	}
	return nil
}
