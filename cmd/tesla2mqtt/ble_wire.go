package main

import (
	"crypto/ecdsa"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	fleetble "github.com/tesla2mqtt/tesla2mqtt/fleet/ble"
)

// bleWiring is the daemon's Bluetooth: one session per car with
// [vehicle.ble], all on one radio, each run as a part of the stack, their
// status changes handed to the bridge once it exists.
type bleWiring struct {
	cars  []device.BLECar
	parts []component
	// bridge receives the sessions' status changes; the sessions are
	// built before it.
	bridge atomic.Pointer[bridge.Bridge]
	// close releases the adapter once the sessions have stopped.
	close func()
}

// startBLE builds the Bluetooth sessions of the config's cars: on
// w.bleRadio (the simulator's, in the demo and the tests), else on the
// host's adapter, whose preflight runs once here so that a missing
// permission is named at start rather than as a car that is never in
// range. The Fleet API serves every car whatever Bluetooth does.
func startBLE(cfg *config.Config, w wiring, key *ecdsa.PrivateKey, log zerolog.Logger) (*bleWiring, error) {
	bw := &bleWiring{close: func() {}}
	confs := bleCarConfigs(cfg)
	if len(confs) == 0 {
		return bw, nil
	}
	log = log.With().Str("component", "ble").Logger()
	radio := w.bleRadio
	if radio == nil {
		adapter := bleAdapter(cfg)
		if err := fleetble.Check(adapter); err != nil {
			log.Error().Err(err).Msg("bluetooth is not usable; the cars of [vehicle.ble] use the Fleet API only")
		}
		r := fleetble.New(adapter)
		radio, bw.close = r, func() { _ = r.Close() }
	}
	for _, c := range confs {
		car, err := fleet.NewBLEVehicle(fleet.BLEOptions{VIN: c.VIN, Radio: radio, PrivateKey: key, Clock: w.clock,
			Logger: log, ScanOnly: c.Route == fleet.BLEOff, OnStatus: bw.status(c.VIN)})
		if err != nil {
			bw.close()
			return nil, err
		}
		bw.cars = append(bw.cars, device.BLECar{Vehicle: car, Route: c.Route})
		bw.parts = append(bw.parts, car)
	}
	return bw, nil
}

// status hands vin's status changes to the bridge, once there is one.
func (bw *bleWiring) status(vin string) func(fleet.BLEStatus) {
	return func(st fleet.BLEStatus) {
		if b := bw.bridge.Load(); b != nil {
			b.BLEStatus(vin, st)
		}
	}
}
