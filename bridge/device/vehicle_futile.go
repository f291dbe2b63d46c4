package device

import (
	"fmt"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/route"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// No futile wakes. A wake costs $0.02 and about 20 s of the car's battery;
// before one is sent for a command, what the bridge already knows is
// checked: a car that is offline (no connection, not asleep) cannot be
// reached by a wake at all; a car that only takes signed commands cannot
// run one when no key is configured, nor when fleet_status says our key is
// not paired. Each answers at once with its own result code and woke:false.
// A missing scope is refused earlier, by the executor's admission.
// Bluetooth changes two of these (futileWake).

// futileWake returns why a command to this sleeping car cannot succeed
// once it is awake on route rt, or nil when waking it is worth it.
//
// Over Bluetooth the wake is free, but it is a signed body-controller
// action: a car that does not know the key refuses the wake too, so an
// unpaired key stays futile there, with the Bluetooth remedy. A car the
// cloud calls offline (no cellular connection, as in a garage with poor
// coverage) is still in reach over Bluetooth.
func (c *car) futileWake(cmd fleet.Command, rt route.Route) error {
	r := c.cs.r
	r.mu.Lock()
	state, signing, paired := c.v.State, c.v.CommandSigning, c.v.KeyPaired
	r.mu.Unlock()
	ble := rt.Via() == entity.ViaBLE
	if state == fleet.StateOffline && !ble {
		return fmt.Errorf("%w; no wake_up sent: a wake cannot reach a car without a connection", fleet.ErrOffline)
	}
	if ble {
		if paired != nil && !*paired {
			return fmt.Errorf("%w; no wake sent", fleet.ErrBLEKeyNotPaired)
		}
		return nil
	}
	if cmd.Name == "wake_up" || signing != "required" {
		return nil
	}
	if can := r.opts.CanSign; can != nil && !can() {
		return fmt.Errorf("%w; no wake_up sent", fleet.ErrSigningRequired)
	}
	if paired != nil && !*paired {
		return fmt.Errorf("%w; no wake_up sent", fleet.ErrKeyNotPaired)
	}
	return nil
}
