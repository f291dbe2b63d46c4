package device

import (
	"context"
	"errors"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/route"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// BLECar is a car the bridge also reaches over Bluetooth: its session
// (whose Run the caller runs beside the bridge) and its [vehicle.ble] route.
type BLECar struct {
	Vehicle fleet.BLEVehicle
	Route   fleet.BLERoute
}

// The car kind over Bluetooth, for cars with [vehicle.ble]: the links are
// opened at start, the body controller replaces the cloud's connectivity
// check while a car is in range, a read over Bluetooth is completed once
// from the Fleet API with what the car does not send that way, and the
// sessions' status (link, RSSI) lands in the car's view. The routes
// themselves are package route; pairing over a running bridge is
// vehicle_ble_pairing.go.

// linkBLE opens the link of every car whose route uses Bluetooth, so that
// a car in the garage gets its first check and read for free. A car out
// of range costs one scan here; its session's Run looks for it from then on.
func (cs *cars) linkBLE(ctx context.Context) {
	for _, c := range cs.all() {
		if c.ble == nil || c.ble.Policy == fleet.BLEOff {
			continue
		}
		if err := c.ble.Car.Connect(ctx); err != nil {
			cs.r.log.Info().Str("device", c.d.name).Err(err).Msg("not in bluetooth range at start")
		}
	}
}

// checkBLE checks the cars whose route is Bluetooth with their body
// controller and reads those that have just come online. It returns the
// cars left for the cloud's check (those without a link, and a "prefer"
// car whose link failed just now) and how many cars were answered for.
func (cs *cars) checkBLE(ctx context.Context, now time.Time, read map[*Device]bool) (cloud []*car, answered int) {
	if len(cs.ble) == 0 {
		return nil, 0
	}
	for _, c := range cs.all() {
		body, own, err := c.route().Check(ctx, c.d.uid)
		switch {
		case !own:
			cloud = append(cloud, c)
		case err == nil:
			answered++
			if cs.applyBody(c, body, now) {
				c.read(ctx)
				read[c.d] = true
			}
		case c.ble.Policy == fleet.BLEOnly:
			answered++
			cs.outOfReach(c, err, now)
		default:
			cs.r.log.Debug().Str("device", c.d.name).Err(err).Msg("bluetooth check failed; asking the cloud")
			cloud = append(cloud, c)
		}
	}
	return cloud, answered
}

// applyBody takes what the body controller told (the state, locks, doors,
// trunks, charge port, presence) and reports whether the car has just come
// online, to be read now.
func (cs *cars) applyBody(c *car, body *fleet.VehicleData, now time.Time) bool {
	r := cs.r
	r.mu.Lock()
	c.v.MergeFields(body)
	c.v.BLE.BodyAt = now
	changed, woke := cs.applyStateLocked(c, body.State, now)
	r.mu.Unlock()
	if changed {
		r.log.Info().Str("device", c.d.name).Str("state", body.State).Msg("state changed (bluetooth)")
	}
	r.host.State(c.d, false)
	return woke
}

// outOfReach is a failed check of a car that route = "only" keeps off the
// Fleet API: out of range, no route reaches it, and it is offline.
func (cs *cars) outOfReach(c *car, err error, now time.Time) {
	r := cs.r
	if !errors.Is(err, fleet.ErrBLEOutOfRange) {
		r.log.Warn().Str("device", c.d.name).Err(err).Msg("bluetooth check failed")
		return
	}
	r.mu.Lock()
	changed, _ := cs.applyStateLocked(c, fleet.StateOffline, now)
	r.mu.Unlock()
	if changed {
		r.log.Info().Str("device", c.d.name).Msg("out of bluetooth range; offline (route = only)")
		r.host.State(c.d, false)
	}
}

// completeEvery paces the Fleet API read that completes a car read over
// Bluetooth while it still lacks vehicle_config or its firmware version.
// The first waits as long after the bridge met the car: a car that leaves
// home within a day gets them from a Fleet API read it needs anyway.
const completeEvery = 24 * time.Hour

// incompleteLocked reports whether a car just read over Bluetooth should
// be completed from the Fleet API now: its policy allows the Fleet API,
// it lacks what Bluetooth never sends (vehicle_config feeds the model of
// the HA device, car_version its firmware) and no completion was tried
// within completeEvery. Callers hold r.mu.
func (c *car) incompleteLocked(now time.Time) bool {
	d := c.v.Data
	lacks := d.Config == nil || d.Vehicle == nil || d.Vehicle.CarVersion == nil
	if c.ble.Policy != fleet.BLEPrefer || !lacks || now.Sub(c.completedAt) < completeEvery {
		return false
	}
	c.completedAt = now
	return true
}

// complete reads from the Fleet API the blocks of eps the car does not
// send over Bluetooth, and vehicle_state for its firmware version: one
// billed read for a car that stays home, about once in its life, since
// the car's memory keeps them across restarts. It reports whether the HA
// device block changed.
func (c *car) complete(ctx context.Context, eps []fleet.Endpoint) bool {
	r, d := c.cs.r, c.d
	want := append(fleet.BLEUnavailable(eps), fleet.VehicleState)
	gate := d.uid + "/" + fleet.CallVehicleData
	if !r.reads.Allowed(gate, r.now()) {
		return false
	}
	data, err := c.cs.fleet.Read(ctx, d.uid, want)
	r.reads.Done(gate, d.name, err, r.now())
	if err != nil {
		r.reads.LogFor(err).Err(err).Str("device", d.name).Msg("cannot read what bluetooth does not send (vehicle_config, firmware)")
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c.keepLastGood(data, want)
	c.v.Merge(data)
	return c.rediscoverLocked()
}

// BLEStatus takes a change of a car's Bluetooth session (the link came up
// or went down, a new RSSI) into its view and publishes it. The sessions
// call it from their own goroutines, never under the registry's lock.
func (r *Registry) BLEStatus(vin string, st fleet.BLEStatus) {
	r.mu.Lock()
	c := r.carFamily().byVIN(vin)
	if c == nil || c.ble == nil {
		r.mu.Unlock()
		return
	}
	was := c.v.BLE
	c.v.BLE = route.LinkOf(st, was)
	changed := was.Connected != c.v.BLE.Connected || !equalRSSI(was.RSSI, c.v.BLE.RSSI)
	r.mu.Unlock()
	if changed {
		if was.Connected != st.Connected {
			r.log.Info().Str("device", c.d.name).Bool("connected", st.Connected).Int("rssi", st.RSSI).Msg("bluetooth link changed")
		}
		r.host.State(c.d, false)
	}
}

func equalRSSI(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// viaBLE reports whether a result's command went over Bluetooth.
func viaBLE(via string) bool { return via == entity.ViaBLE }
