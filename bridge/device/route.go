package device

import (
	"context"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// route is one way to reach a car: its connectivity check, reads, commands
// and wakes. The Fleet API is the route every car has; a car in Bluetooth
// range of the bridge has a second (route_ble.go), and car.route picks,
// per request, the one to take, so the car kind's polling, command and
// wake code never asks which it is.
type route interface {
	// via names the route on results and in data_source: entity.ViaFleet
	// or entity.ViaBLE.
	via() string
	// check is the route's own connectivity check of one car: its state
	// and whatever else it tells for free. own is false for a route
	// without a check of its own: the Fleet API checks every car with one
	// call (pollConnectivity).
	check(ctx context.Context, vin string) (d *fleet.VehicleData, own bool, err error)
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

func (fr fleetRoute) via() string { return entity.ViaFleet }

func (fr fleetRoute) check(context.Context, string) (*fleet.VehicleData, bool, error) {
	return nil, false, nil
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
