package device

import (
	"context"
	"errors"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Pairing the app's key over the running bridge's Bluetooth link. The
// bridge holds the adapter for as long as it runs, so `tesla2mqtt ble pair`
// in a second process would find it busy: the bridge pairs on request
// instead (bridge/request/ble_pair), with the link it already has.

// ErrNoBLE is a pairing request for a car without [vehicle.ble].
var ErrNoBLE = errors.New("the car has no [vehicle.ble] table with enabled = true in the config")

// ErrUnknownCar is a pairing request that names no car of the bridge.
var ErrUnknownCar = errors.New("no car of the bridge has this name or VIN")

// PairBLE pairs the app's key with the car named by name (its topic name
// or VIN): it sends the add-key request and calls prompt, so the user
// knows to tap a key card on the center console; then it asks the car
// every poll, on the bridge's clock, until the car knows the key (its
// key_paired turns on), timeout passes (fleet.ErrBLEPairTimeout) or ctx
// ends. already reports a key the car knew: nothing was sent. A car whose
// route is "off" has no link of its own: one is opened for the pairing.
func (r *Registry) PairBLE(ctx context.Context, name string, timeout, poll time.Duration, prompt func(vin string)) (vin string, already bool, err error) {
	c := r.carNamed(name)
	switch {
	case c == nil:
		return "", false, ErrUnknownCar
	case c.ble == nil:
		return c.d.uid, false, ErrNoBLE
	}
	vin, car := c.d.uid, c.ble.Car
	if c.ble.Policy == fleet.BLEOff {
		if err := car.Connect(ctx); err != nil {
			return vin, false, err
		}
		defer car.Close()
	}
	already, err = c.ble.Pair(ctx, r.opts.Clock, timeout, poll, func() {
		r.log.Info().Str("device", c.d.name).Msg("bluetooth pairing: add-key request sent; waiting for the key card")
		if prompt != nil {
			prompt(vin)
		}
	})
	if already || err == nil {
		c.pairedOverBLE()
	}
	return vin, already, err
}

// carNamed returns the car whose topic name or VIN is name, or nil.
func (r *Registry) carNamed(name string) *car {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.devices[name]
	if d == nil {
		d = r.byUID[name]
	}
	if d == nil {
		return nil
	}
	c, _ := d.k.(*car)
	return c
}

// pairedOverBLE records what the car said over Bluetooth: it knows the
// key, and key_paired turns on without waiting for fleet_status.
func (c *car) pairedOverBLE() {
	r := c.cs.r
	r.mu.Lock()
	changed := c.v.KeyPaired == nil || !*c.v.KeyPaired
	c.v.KeyPaired = entity.Ptr(true)
	c.keyRecheckUntil = time.Time{}
	r.mu.Unlock()
	if changed {
		r.log.Info().Str("device", c.d.name).Msg("key pairing state changed (bluetooth)")
		r.host.State(c.d, false)
	}
}

// checkPairingBLE asks the cars among cs whose route is Bluetooth whether
// they know the key (a body-controller handshake: free, works asleep) and
// returns the others, for fleet_status. A car that route = "only" keeps
// off the Fleet API is never returned.
func (cs *cars) checkPairingBLE(ctx context.Context, cars []*car) (fleetCars []*car) {
	for _, c := range cars {
		if c.ble == nil || c.route().Via() != entity.ViaBLE {
			if c.ble == nil || c.ble.Policy != fleet.BLEOnly {
				fleetCars = append(fleetCars, c)
			}
			continue
		}
		ok, err := c.ble.Car.KeyPaired(ctx)
		switch {
		case err != nil && c.ble.Policy != fleet.BLEOnly:
			fleetCars = append(fleetCars, c)
		case err != nil:
		case ok:
			c.pairedOverBLE()
		default:
			c.unpairedOverBLE()
		}
	}
	return fleetCars
}

// unpairedOverBLE records a car that does not know the key.
func (c *car) unpairedOverBLE() {
	r := c.cs.r
	r.mu.Lock()
	changed := c.v.KeyPaired == nil || *c.v.KeyPaired
	c.v.KeyPaired = entity.Ptr(false)
	c.keyCheckedAt = r.now()
	r.mu.Unlock()
	if changed {
		r.log.Info().Str("device", c.d.name).Msg("key pairing state changed (bluetooth)")
		r.host.State(c.d, false)
	}
}
