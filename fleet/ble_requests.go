package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/teslamotors/vehicle-command/pkg/protocol"
	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	universal "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/universalmessage"
	"github.com/teslamotors/vehicle-command/pkg/proxy"
	"github.com/teslamotors/vehicle-command/pkg/vehicle"
)

var (
	domainsVCSEC        = []universal.Domain{universal.Domain_DOMAIN_VEHICLE_SECURITY}
	domainsInfotainment = []universal.Domain{universal.Domain_DOMAIN_INFOTAINMENT}
)

// bleVCSECCommands are the commands the body controller runs itself
// (locks, closures, remote start): they work while infotainment sleeps and
// need only the VCSEC session. Every other command goes to infotainment,
// which must be awake. A command missing here would be refused as asleep,
// never sent to a domain that cannot answer.
var bleVCSECCommands = map[string]bool{
	"door_lock": true, "door_unlock": true, "actuate_trunk": true, "remote_start_drive": true,
	"open_tonneau": true, "close_tonneau": true, "stop_tonneau": true,
}

// exchange runs fn on the connected car under the request lock and a
// RequestTimeout deadline, and sorts out what went wrong: a link that
// stopped working is dropped (ErrBLEOutOfRange, or ErrMayHaveSucceeded for
// a command that may have reached the car before it went), and the SDK's
// sentinels become the package's.
func (c *BLECar) exchange(ctx context.Context, command bool, fn func(ctx context.Context, veh *vehicle.Vehicle) error) error {
	c.req.Lock()
	defer c.req.Unlock()
	veh, linkDone, err := c.link(ctx)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	defer context.AfterFunc(linkDone, cancel)()
	err = fn(rctx, veh)
	switch {
	case err == nil:
		c.seen(0)
		return nil
	case ctx.Err() != nil && command && mayHaveRun(err):
		return fmt.Errorf("%w (%w)", ErrMayHaveSucceeded, ctx.Err())
	case ctx.Err() != nil:
		return ctx.Err() // the caller gave up; the link may be fine
	case linkDone.Err() != nil && command && mayHaveRun(err):
		return fmt.Errorf("%w (%w: the link was closed)", ErrMayHaveSucceeded, ErrBLEOutOfRange)
	case linkDone.Err() != nil:
		return fmt.Errorf("%w (the link was closed during the request)", ErrBLEOutOfRange)
	}
	err = classifyBLE(err)
	if !linkLost(err) {
		return err
	}
	c.drop(veh, err)
	switch {
	case command && mayHaveRun(err):
		return fmt.Errorf("%w (%w)", ErrMayHaveSucceeded, err)
	case errors.Is(err, ErrBLEOutOfRange):
		return err
	}
	return fmt.Errorf("%w (%w)", ErrBLEOutOfRange, err)
}

// mayHaveRun is protocol.MayHaveSucceeded through wrapping.
func mayHaveRun(err error) bool {
	var pe protocol.Error
	return errors.As(err, &pe) && pe.MayHaveSucceeded()
}

// BodyControllerState reads VCSEC's vehicle status: unauthenticated, so it
// works without a paired key and never wakes the car.
func (c *BLECar) BodyControllerState(ctx context.Context) (*BodyState, error) {
	var out *BodyState
	err := c.exchange(ctx, false, func(ctx context.Context, veh *vehicle.Vehicle) error {
		st, err := veh.BodyControllerState(ctx)
		out = bodyStateFromVCSEC(st)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// VehicleData asks the body controller first: an asleep car answers
// ErrBLEAsleep at once, where a GetState would get no answer at all and
// the infotainment handshake alone would keep retrying until the deadline.
func (c *BLECar) VehicleData(ctx context.Context, endpoints []Endpoint) (*VehicleData, error) {
	if c.key == nil {
		return nil, ErrBLENoKey
	}
	cats := bleStateCategories(endpoints)
	var parts []*carserver.VehicleData
	err := c.exchange(ctx, false, func(ctx context.Context, veh *vehicle.Vehicle) error {
		if err := c.awakeLocked(ctx, veh); err != nil {
			return err
		}
		if len(cats) == 0 {
			return nil
		}
		if err := veh.StartSession(ctx, domainsInfotainment); err != nil {
			return err
		}
		defer c.keepSessions(veh)
		for _, cat := range cats {
			d, err := veh.GetState(ctx, cat)
			if err != nil {
				return err
			}
			parts = append(parts, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return VehicleDataFromBLE(c.opts.VIN, mergeBLEStates(parts)), nil
}

// awakeLocked returns ErrBLEAsleep unless the body controller says
// infotainment is awake.
func (c *BLECar) awakeLocked(ctx context.Context, veh *vehicle.Vehicle) error {
	st, err := veh.BodyControllerState(ctx)
	if err != nil {
		return err
	}
	if bodyStateFromVCSEC(st).State() != StateOnline {
		return ErrBLEAsleep
	}
	return nil
}

// Wake sends the body controller's wake (an authenticated RKE action, so a
// paired key is needed) and then polls the body controller, which answers
// for free, until infotainment is up. Between polls the car stays free for
// other requests.
func (c *BLECar) Wake(ctx context.Context) error {
	if c.key == nil {
		return ErrBLENoKey
	}
	// The wait is bounded on the injected clock, as the polls are.
	deadline := c.opts.Clock.Now().Add(c.opts.WakeTimeout)
	awake := false
	err := c.exchange(ctx, false, func(ctx context.Context, veh *vehicle.Vehicle) error {
		if c.awakeLocked(ctx, veh) == nil {
			awake = true
			return nil
		}
		if err := veh.StartSession(ctx, domainsVCSEC); err != nil {
			return err
		}
		defer c.keepSessions(veh)
		return veh.Wakeup(ctx)
	})
	for err == nil && !awake {
		if !c.opts.Clock.Now().Before(deadline) {
			return fmt.Errorf("%w: still asleep %s after the Bluetooth wake", ErrBLEAsleep, c.opts.WakeTimeout)
		}
		if err = c.opts.Clock.Sleep(ctx, c.opts.WakePoll); err != nil {
			return err
		}
		var st *BodyState
		if st, err = c.BodyControllerState(ctx); err == nil {
			awake = st.State() == StateOnline
		}
	}
	return err
}

// Command runs cmd over BLE. The REST name and parameters go through
// proxy.ExtractCommandAction as on the signed_command path, and the
// outcome through mapSigned, so results read the same whichever way the
// command went.
func (c *BLECar) Command(ctx context.Context, cmd Command) (*CommandResult, error) {
	if cmd.Name == "wake_up" {
		if err := c.Wake(ctx); err != nil {
			return nil, err
		}
		return &CommandResult{Result: true}, nil
	}
	if c.key == nil {
		return nil, ErrBLENoKey
	}
	params, err := sdkParams(cmd.Params)
	if err != nil {
		return nil, err
	}
	vcsecOnly := bleVCSECCommands[cmd.Name]
	err = c.exchange(ctx, true, func(ctx context.Context, veh *vehicle.Vehicle) error {
		// The action captures ctx: it must be the request's, with its deadline.
		action, err := proxy.ExtractCommandAction(ctx, cmd.Name, params)
		if err != nil {
			return err
		}
		domains := domainsVCSEC
		if !vcsecOnly {
			if err := c.awakeLocked(ctx, veh); err != nil {
				return err
			}
			domains = domainsInfotainment
		}
		if err := veh.StartSession(ctx, domains); err != nil {
			return err
		}
		defer c.keepSessions(veh)
		return action(veh)
	})
	for _, passed := range []error{ErrBLEKeyNotPaired, ErrBLEAsleep, ErrBLENeedsFleetAPI, ErrBLEOutOfRange,
		ErrMayHaveSucceeded} {
		if errors.Is(err, passed) {
			return nil, err
		}
	}
	return mapSigned(err)
}

// keepSessions saves the car's session state for the next link.
func (c *BLECar) keepSessions(veh *vehicle.Vehicle) {
	_ = veh.UpdateCachedSessions(c.sessions)
}
