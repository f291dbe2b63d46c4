package device

import (
	"context"
	"errors"
	"slices"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// BLECar is a car the bridge also reaches over Bluetooth: its session
// (whose Run the caller runs beside the bridge) and its [vehicle.ble] route.
type BLECar struct {
	Vehicle fleet.BLEVehicle
	Route   fleet.BLERoute
}

// bleRoute reaches a car over the bridge's Bluetooth link: the body
// controller's state instead of the cloud check (free, never wakes the
// car), GetState instead of vehicle_data, commands and the wake signed as
// on the Fleet API's signed path, none of it billed. Every request fails
// at once with fleet.ErrBLEOutOfRange while the link is down, so the car
// can take the Fleet API instead without waiting (car.fallback).
type bleRoute struct {
	car    fleet.BLEVehicle
	policy fleet.BLERoute
}

// errBodyStateUnknown is a body controller that did not say whether the
// car sleeps: the check tells nothing, and the cloud's check is asked.
var errBodyStateUnknown = errors.New("the body controller did not say whether the car sleeps")

func (br *bleRoute) via() string { return entity.ViaBLE }

func (br *bleRoute) check(ctx context.Context, vin string) (*fleet.VehicleData, bool, error) {
	st, err := br.car.BodyControllerState(ctx)
	if err != nil {
		return nil, true, err
	}
	if st.State() == "" {
		return nil, true, errBodyStateUnknown
	}
	return st.VehicleData(vin), true, nil
}

// read asks only for the blocks the car sends over Bluetooth; the others
// (vehicle_config, gui_settings) keep their Fleet API values (car.complete).
func (br *bleRoute) read(ctx context.Context, _ string, eps []fleet.Endpoint) (*fleet.VehicleData, error) {
	return br.car.VehicleData(ctx, bleEndpoints(eps))
}

func (br *bleRoute) command(ctx context.Context, _ string, cmd fleet.Command) (*fleet.CommandResult, error) {
	return br.car.Command(ctx, cmd)
}

func (br *bleRoute) wake(ctx context.Context, _ string) error { return br.car.Wake(ctx) }

// bleEndpoints are the endpoints of eps the car answers over Bluetooth.
func bleEndpoints(eps []fleet.Endpoint) []fleet.Endpoint {
	not := fleet.BLEUnavailable(eps)
	return slices.DeleteFunc(slices.Clone(eps), func(e fleet.Endpoint) bool { return slices.Contains(not, e) })
}

// linkOf is the entity view of a Bluetooth status
// (prev keeps what the status does not carry).
func linkOf(st fleet.BLEStatus, prev entity.BLELink) entity.BLELink {
	l := entity.BLELink{Connected: st.Connected, BodyAt: prev.BodyAt}
	if st.RSSI != 0 {
		l.RSSI = entity.Ptr(st.RSSI)
	}
	return l
}
