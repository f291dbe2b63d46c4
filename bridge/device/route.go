package device

import (
	"context"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// route is one way to reach a car: its reads, commands and wakes. The
// Fleet API is the route every car has; a car in Bluetooth range of the
// bridge will have a second (issue 18), and route picks, per request, the
// one to take, so the car kind's polling, command and wake code never asks
// which it is.
type route interface {
	// read reads the car's vehicle_data blocks.
	read(ctx context.Context, vin string, eps []fleet.Endpoint) (*fleet.VehicleData, error)
	// command sends one command to an awake car.
	command(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error)
	// wake wakes the car and waits until it is online.
	wake(ctx context.Context, vin string) error
}

// fleetRoute reaches a car through the Fleet API: vehicle_data, the
// signed or REST command path, wake_up and the cheap state check.
type fleetRoute struct {
	reg   *Registry
	waker command.Waker
}

func (fr fleetRoute) read(ctx context.Context, vin string, eps []fleet.Endpoint) (*fleet.VehicleData, error) {
	return fr.reg.fleet.VehicleData(ctx, vin, eps)
}

func (fr fleetRoute) command(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error) {
	return fr.reg.cmdr.VehicleCommand(ctx, vin, cmd)
}

func (fr fleetRoute) wake(ctx context.Context, vin string) error { return fr.waker.Wake(ctx, vin) }

// wakeAPI wakes through the budget's hard cap and checks the state with
// the free vehicle call.
type wakeAPI struct{ r *Registry }

func (w wakeAPI) WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error) {
	return w.r.send.WakeUp(ctx, vin)
}

func (w wakeAPI) Vehicle(ctx context.Context, vin string) (*fleet.Vehicle, error) {
	return w.r.fleet.Vehicle(ctx, vin)
}
