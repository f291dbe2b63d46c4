package device

import (
	"errors"
	"fmt"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/route"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The car kind: the account's vehicles. The cheap connectivity check
// (vehicle_poll.go) tells which cars are awake, the policy (economy.Car)
// which of those to read on which schedule; fleet_status tells their key
// pairing (vehicle_pairing.go) and Fleet Telemetry streams their data
// (vehicle_stream.go). Checks, reads, commands and wakes go through a
// route (package route), chosen per request.

// cars is the car family.
type cars struct {
	r *Registry
	// policies are the cars' polling states by VIN; a car that leaves the
	// account and comes back keeps its own. Guarded by r.mu.
	policies map[string]*economy.Car
	// fleet is the Fleet API route, the one every car has; ble are the
	// Bluetooth routes of the cars with [vehicle.ble], by VIN.
	fleet route.Route
	ble   map[string]*route.BLE
}

// car is one car: its view and what the bridge keeps about it.
type car struct {
	kindBase
	cs *cars
	d  *Device
	v  *entity.VehicleView
	// keyRecheckUntil: after a key_not_paired result, pairing is re-checked
	// until then so the entity turns on soon after the user pairs;
	// keyCheckedAt paces those checks (vehicle_pairing.go).
	keyRecheckUntil, keyCheckedAt time.Time
	// missingBlocks are the asked-for blocks the last read lacked, logged
	// once per change.
	missingBlocks string
	// ble is the car's Bluetooth route, nil without [vehicle.ble];
	// completedAt is when the blocks Bluetooth lacks were last read from
	// the Fleet API for it, or when the bridge met the car (vehicle_ble.go).
	ble         *route.BLE
	completedAt time.Time
}

// carFamily is the bridge's car family.
func (r *Registry) carFamily() *cars {
	for _, f := range r.families {
		if cs, ok := f.(*cars); ok {
			return cs
		}
	}
	return nil
}

// all returns the cars, ordered by name.
func (cs *cars) all() []*car {
	var out []*car
	for _, d := range cs.r.Devices() {
		if c, ok := d.k.(*car); ok {
			out = append(out, c)
		}
	}
	return out
}

// byVIN returns the car with vin, or nil. Callers hold r.mu.
func (cs *cars) byVIN(vin string) *car {
	if d := cs.r.byUID[vin]; d != nil {
		if c, ok := d.k.(*car); ok {
			return c
		}
	}
	return nil
}

// policyLocked returns the car's policy, creating it. Callers hold r.mu.
func (cs *cars) policyLocked(vin string) *economy.Car {
	p := cs.policies[vin]
	if p == nil {
		p = &economy.Car{}
		cs.policies[vin] = p
	}
	return p
}

func (c *car) kindName() string { return "vehicle" }
func (c *car) view() any        { return c.v }
func (c *car) table() []*entity.Spec {
	if c.ble != nil {
		return entity.VehicleBLETable()
	}
	return entity.VehicleTable()
}
func (c *car) hassDevice() hass.Device { return entity.VehicleDevice(c.v, c.d.name) }

// stateKeys: a car's state is its Fleet state, and the state object says
// which source updated the data last.
func (c *car) stateKeys(m map[string]any) {
	m["state"] = c.v.State
	m["data_source"], m["telemetry_at"] = c.v.SourceKeys()
}

// facts: the Fleet state and polling state on bridge/info; on the status
// page the pairing and signing a user has to act on.
func (c *car) facts(f *Facts) {
	f.State = c.v.State
	if p := c.cs.policies[c.d.uid]; p != nil {
		f.Polling = p.State()
	}
	f.CommandSigning = c.v.CommandSigning
	f.SigningRequired = f.CommandSigning == "required"
	if c.d.Entity("key_paired") != nil && c.v.KeyPaired != nil {
		p := *c.v.KeyPaired
		f.KeyPaired = &p
	}
	if dom := c.cs.r.opts.Domain; dom != "" {
		f.PairingURL = fleet.PairingURL(dom, c.d.uid)
	}
}

// online reports the car's last known Fleet state.
func (c *car) online() bool {
	c.cs.r.mu.Lock()
	defer c.cs.r.mu.Unlock()
	return c.v.State == fleet.StateOnline
}

// route is the route of the car's next request: Bluetooth while its link
// is up (always, for route = "only"), the Fleet API otherwise.
func (c *car) route() route.Route {
	switch {
	case c.ble == nil || c.ble.Policy == fleet.BLEOff:
		return c.cs.fleet
	case c.ble.Policy == fleet.BLEOnly || c.ble.Car.Status().Connected:
		return c.ble
	}
	return c.cs.fleet
}

// fallback is the route to try next after rt failed with err: the Fleet
// API when Bluetooth could not carry the request at all (the link was
// down, so nothing reached the car, or the command exists only in the
// Fleet API) and the car's policy is "prefer"; nil otherwise. A command
// that may have run is never sent again, on either route.
func (c *car) fallback(rt route.Route, err error) route.Route {
	switch {
	case rt.Via() != entity.ViaBLE || c.ble.Policy != fleet.BLEPrefer, fleet.MayHaveRun(err):
		return nil
	case errors.Is(err, fleet.ErrBLEOutOfRange), errors.Is(err, fleet.ErrBLENeedsFleetAPI):
		return c.cs.fleet
	}
	return nil
}

// unreachable turns a car that route = "only" keeps off the Fleet API, and
// that is out of Bluetooth range, into an offline car: no route reaches it.
func (c *car) unreachable(rt route.Route, err error) error {
	if rt.Via() == entity.ViaBLE && c.ble.Policy == fleet.BLEOnly && !fleet.MayHaveRun(err) &&
		errors.Is(err, fleet.ErrBLEOutOfRange) {
		return fmt.Errorf("%w: %w", fleet.ErrOffline, err)
	}
	return err
}
