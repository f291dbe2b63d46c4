package contract

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// Hook observes the bridge, in the manner of mochi-mqtt's hooks: a
// component that wants to know what the bridge does (the Prometheus
// metrics, the TeslaMate topics, the bench) implements the methods it needs
// on top of HookBase and is listed in the bridge's Options.Hooks, instead
// of the bridge knowing about it. Hooks are called synchronously, in list order, on the
// goroutine that caused the event and never under the bridge's lock; they
// must be quick and must not call back into the bridge's publishing.
type Hook interface {
	// OnState follows every publish of a device's state object: a change,
	// or every device when force is set (a republish).
	OnState(e StateEvent)
	// OnResult follows every command result published.
	OnResult(device string, r command.Result)
	// OnCommandDone follows a command's result and its confirming read:
	// the device is ready for its next command. Results of commands that
	// were never started (a full queue, shutdown) have no OnCommandDone.
	OnCommandDone(device string, r command.Result)
	// OnRequest follows every answer to a <base>/bridge/request/<action>.
	OnRequest(action string, r Response)
}

// HookBase implements every Hook method as a no-op; embed it and override
// what the hook is for.
type HookBase struct{}

// OnState implements Hook.
func (HookBase) OnState(StateEvent) {}

// OnResult implements Hook.
func (HookBase) OnResult(string, command.Result) {}

// OnCommandDone implements Hook.
func (HookBase) OnCommandDone(string, command.Result) {}

// OnRequest implements Hook.
func (HookBase) OnRequest(string, Response) {}

var _ Hook = HookBase{}

// StateEvent is one state publish as hooks see it: a snapshot, taken when
// the state was encoded, that stays valid after the call.
type StateEvent struct {
	// Device is the topic segment; UID the VIN or site id; Kind as on
	// bridge/info (vehicle, energy_site, wall_connector).
	Device, UID, Kind string
	// Force: a republish of every device (reconnect, HA birth, schedule),
	// not a change.
	Force bool
	// Vehicle is a copy of a car's view (nil for other kinds).
	Vehicle *entity.VehicleView
	// LastError is the device's last read error ("" after a success).
	LastError string
}
