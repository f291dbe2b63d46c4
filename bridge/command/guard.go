package command

import (
	"context"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Commander sends a vehicle command. The default sends it as REST through
// the Fleet API; the signed path (fleet.Commander, vehicle-command)
// implements the same interface, so the entity table never knows which
// path a car takes.
type Commander interface {
	VehicleCommand(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error)
}

// SigningObserver is implemented by Commanders that choose REST or signed
// per car (fleet.Commander): fleet_status tells them which cars need
// signing before the first command is tried.
type SigningObserver interface {
	SetSigningRequired(vin string, required bool)
}

// Sender is the part of the Fleet API that acts on a device: wakes and
// commands, every one of them billed.
type Sender interface {
	WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error)
	Command(ctx context.Context, vin, name string, params map[string]any) (*fleet.CommandResult, error)
	EnergyCommand(ctx context.Context, siteID int64, name string, body map[string]any) error
}

// Cap says whether the budget's hard cap refuses commands and wakes now
// (economy.Budget).
type Cap interface{ Blocked() bool }

// Capped refuses s's commands and wakes once the hard cap is reached.
func Capped(s Sender, c Cap) Sender { return cappedSender{s, c} }

type cappedSender struct {
	Sender
	c Cap
}

func (g cappedSender) WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error) {
	if g.c.Blocked() {
		return nil, economy.HardCapError(fleet.CallWakeUp)
	}
	return g.Sender.WakeUp(ctx, vin)
}

func (g cappedSender) Command(ctx context.Context, vin, name string, params map[string]any) (*fleet.CommandResult, error) {
	if g.c.Blocked() {
		return nil, economy.HardCapError(fleet.CallCommand)
	}
	return g.Sender.Command(ctx, vin, name, params)
}

func (g cappedSender) EnergyCommand(ctx context.Context, siteID int64, name string, body map[string]any) error {
	if g.c.Blocked() {
		return economy.HardCapError(fleet.CallEnergyCommand)
	}
	return g.Sender.EnergyCommand(ctx, siteID, name, body)
}

// CappedCommander applies the hard cap to a Commander (the signed path),
// keeping its SigningObserver side when it has one.
func CappedCommander(c Commander, cp Cap) Commander {
	cc := cappedCommander{c, cp}
	if obs, ok := c.(SigningObserver); ok {
		return struct {
			cappedCommander
			SigningObserver
		}{cc, obs}
	}
	return cc
}

type cappedCommander struct {
	Commander
	c Cap
}

func (c cappedCommander) VehicleCommand(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error) {
	if c.c.Blocked() {
		return nil, economy.HardCapError(fleet.CallCommand)
	}
	return c.Commander.VehicleCommand(ctx, vin, cmd)
}

// REST sends vehicle commands as plain REST through s: the Commander of a
// bridge without the signed path.
func REST(s Sender) Commander { return restCommander{s} }

type restCommander struct{ s Sender }

func (r restCommander) VehicleCommand(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error) {
	return r.s.Command(ctx, vin, cmd.Name, cmd.Params)
}

// The signed path serves as a Commander and hears fleet_status.
var (
	_ Commander       = (*fleet.Commander)(nil)
	_ SigningObserver = (*fleet.Commander)(nil)
	_ Cap             = (*economy.Budget)(nil)
)
