package device

import (
	"context"
	"errors"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/route"
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
	w := command.Waker{API: route.WakeAPI{Send: r.send, State: r.fleet}, Clock: r.opts.Clock,
		Timeout: r.opts.WakeTimeout, Interval: r.opts.WakePollInterval}
	cs := &cars{r: r, policies: map[string]*economy.Car{}, ble: map[string]*route.BLE{},
		fleet: route.Fleet{Reader: r.fleet, Commander: r.cmdr, Waker: w}}
	for _, b := range r.opts.BLE {
		cs.ble[b.Vehicle.VIN()] = &route.BLE{Car: b.Vehicle, Policy: b.Route}
	}
	return cs
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
			CommandSigning: p.CommandSigning}, ble: cs.ble[p.VIN]}
		if c.ble != nil {
			c.v.BLE = route.LinkOf(c.ble.Car.Status(), c.v.BLE)
			c.completedAt = cs.r.now()
		}
		c.d = newDevice(name, p.VIN, c)
		return c.d
	}
}

// start implements family: the first connectivity check reads the cars
// that are awake; then every online car it did not read. Cars in Bluetooth
// range are linked first, so that their first check and read go over
// Bluetooth rather than cost a Fleet API call.
func (cs *cars) start(ctx context.Context) {
	cs.linkBLE(ctx)
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

// send sends the command on the car's route, waking the car first when
// needed, and says which way it went. When Bluetooth could not carry it
// (the link was down: nothing reached the car), a car whose policy is
// "prefer" sends it over the Fleet API at once, so a car that just drove
// off loses no command.
func (c *car) send(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, command.Sent, error) {
	var how command.Sent
	for rt := c.route(); ; {
		if !c.online() {
			if err := c.futileWake(cmd, rt); err != nil {
				return nil, how, err
			}
		}
		how.Via = rt.Via()
		cr, woke, err := c.sendOn(ctx, rt, cmd)
		how.Woke = how.Woke || woke
		next := c.fallback(rt, err)
		if next == nil {
			return cr, how, c.unreachable(rt, err)
		}
		c.cs.r.log.Info().Str("device", c.d.name).Str("command", cmd.Name).Err(err).
			Msg("bluetooth could not carry the command; sending it over the Fleet API")
		rt = next
	}
}

// sendOn wakes the car when needed and sends the command on rt.
func (c *car) sendOn(ctx context.Context, rt route.Route, cmd fleet.Command) (*fleet.CommandResult, bool, error) {
	online := c.online()
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
	cr, err := rt.Command(ctx, c.d.uid, cmd)
	if errors.Is(err, fleet.ErrAsleep) && !woke {
		// The car fell asleep since the last check: wake it and try once more.
		if werr := c.wake(ctx, rt); werr != nil {
			return nil, false, werr
		}
		woke = true
		if err := command.StartCheck(ctx); err != nil {
			return nil, woke, err
		}
		cr, err = rt.Command(ctx, c.d.uid, cmd)
	}
	return cr, woke, err
}

// wake wakes the car on rt and publishes it online.
func (c *car) wake(ctx context.Context, rt route.Route) error {
	if err := rt.Wake(ctx, c.d.uid); err != nil {
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
