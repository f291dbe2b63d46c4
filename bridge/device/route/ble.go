package route

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// BLE reaches a car over the bridge's Bluetooth link: the body
// controller's state instead of the cloud check (free, never wakes the
// car), GetState instead of vehicle_data, commands and the wake signed as
// on the Fleet API's signed path, none of it billed. Every request fails
// at once with fleet.ErrBLEOutOfRange while the link is down, so the car
// can take the Fleet API instead without waiting (the car kind's fallback).
type BLE struct {
	Car    fleet.BLEVehicle
	Policy fleet.BLERoute
}

// errBodyStateUnknown is a body controller that did not say whether the
// car sleeps: the check tells nothing, and the cloud's check is asked.
var errBodyStateUnknown = errors.New("the body controller did not say whether the car sleeps")

// Via implements Route.
func (br *BLE) Via() string { return entity.ViaBLE }

// Check implements Route with the body controller's state.
func (br *BLE) Check(ctx context.Context, vin string) (*fleet.VehicleData, bool, error) {
	st, err := br.Car.BodyControllerState(ctx)
	if err != nil {
		return nil, true, err
	}
	if st.State() == "" {
		return nil, true, errBodyStateUnknown
	}
	return st.VehicleData(vin), true, nil
}

// Read asks only for the blocks the car sends over Bluetooth; the others
// (vehicle_config, gui_settings) keep their Fleet API values (the car
// kind's complete).
func (br *BLE) Read(ctx context.Context, _ string, eps []fleet.Endpoint) (*fleet.VehicleData, error) {
	return br.Car.VehicleData(ctx, bleEndpoints(eps))
}

// Command implements Route.
func (br *BLE) Command(ctx context.Context, _ string, cmd fleet.Command) (*fleet.CommandResult, error) {
	return br.Car.Command(ctx, cmd)
}

// Wake implements Route.
func (br *BLE) Wake(ctx context.Context, _ string) error { return br.Car.Wake(ctx) }

// bleEndpoints are the endpoints of eps the car answers over Bluetooth.
func bleEndpoints(eps []fleet.Endpoint) []fleet.Endpoint {
	not := fleet.BLEUnavailable(eps)
	return slices.DeleteFunc(slices.Clone(eps), func(e fleet.Endpoint) bool { return slices.Contains(not, e) })
}

// LinkOf is the entity view of a Bluetooth status (prev keeps what the
// status does not carry), for the car's BLE link entities.
func LinkOf(st fleet.BLEStatus, prev entity.BLELink) entity.BLELink {
	l := entity.BLELink{Connected: st.Connected, BodyAt: prev.BodyAt}
	if st.RSSI != 0 {
		l.RSSI = entity.Ptr(st.RSSI)
	}
	return l
}

// Pair sends the add-key request over the link and waits for the user's
// key card: it calls sent once the request is out, then asks the car
// every poll, on clk, until the car knows the key, timeout passes
// (fleet.ErrBLEPairTimeout) or ctx ends. already reports a key the car
// knew: nothing was sent. The link must be up (Connect).
func (br *BLE) Pair(ctx context.Context, clk clock.Clock, timeout, poll time.Duration, sent func()) (already bool, err error) {
	already, err = br.Car.StartPairing(ctx)
	if err != nil || already {
		return already, err
	}
	sent()
	deadline := clk.Now().Add(timeout)
	for {
		if !clk.Now().Before(deadline) {
			return false, fleet.ErrBLEPairTimeout
		}
		t := clk.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C():
		}
		ok, err := br.Car.KeyPaired(ctx)
		if err != nil {
			return false, err
		}
		if ok {
			return false, nil
		}
	}
}
