package route

import (
	"context"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Route is one way to reach a car: its connectivity check, reads, commands
// and wakes. The Fleet API is the route every car has; a car in Bluetooth
// range of the bridge has a second (BLE), and the car kind picks, per
// request, the one to take, so its polling, command and wake code never
// asks which it is.
type Route interface {
	// Via names the route on results and in data_source: entity.ViaFleet
	// or entity.ViaBLE.
	Via() string
	// Check is the route's own connectivity check of one car: its state
	// and whatever else it tells for free. own is false for a route
	// without a check of its own: the Fleet API checks every car with one
	// call (the car kind's pollConnectivity).
	Check(ctx context.Context, vin string) (d *fleet.VehicleData, own bool, err error)
	// Read reads the car's vehicle_data blocks.
	Read(ctx context.Context, vin string, eps []fleet.Endpoint) (*fleet.VehicleData, error)
	// Command sends one command to an awake car.
	Command(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error)
	// Wake wakes the car and waits until it is online.
	Wake(ctx context.Context, vin string) error
}

// Reader reads a car's vehicle_data on the Fleet API.
type Reader interface {
	VehicleData(ctx context.Context, vin string, endpoints []fleet.Endpoint) (*fleet.VehicleData, error)
}

// Fleet reaches a car through the Fleet API: vehicle_data, the signed or
// REST command path, wake_up and the cheap state check.
type Fleet struct {
	Reader    Reader
	Commander command.Commander
	Waker     command.Waker
}

// Via implements Route.
func (fr Fleet) Via() string { return entity.ViaFleet }

// Check implements Route: the Fleet API has no check of one car, so the
// caller checks every car with one call.
func (fr Fleet) Check(context.Context, string) (*fleet.VehicleData, bool, error) {
	return nil, false, nil
}

// Read implements Route.
func (fr Fleet) Read(ctx context.Context, vin string, eps []fleet.Endpoint) (*fleet.VehicleData, error) {
	return fr.Reader.VehicleData(ctx, vin, eps)
}

// Command implements Route.
func (fr Fleet) Command(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error) {
	return fr.Commander.VehicleCommand(ctx, vin, cmd)
}

// Wake implements Route.
func (fr Fleet) Wake(ctx context.Context, vin string) error { return fr.Waker.Wake(ctx, vin) }

// WakeAPI wakes through the budget's hard cap (Send) and checks the state
// with the free vehicle call (State).
type WakeAPI struct {
	Send  command.Sender
	State interface {
		Vehicle(ctx context.Context, vin string) (*fleet.Vehicle, error)
	}
}

// WakeUp implements command.WakeAPI.
func (w WakeAPI) WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error) {
	return w.Send.WakeUp(ctx, vin)
}

// Vehicle implements command.WakeAPI.
func (w WakeAPI) Vehicle(ctx context.Context, vin string) (*fleet.Vehicle, error) {
	return w.State.Vehicle(ctx, vin)
}
