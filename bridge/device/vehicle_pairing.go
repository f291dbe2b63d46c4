package device

import (
	"context"
	"slices"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// Virtual-key pairing status. fleet_status is free and answers for many
// cars at once, so it runs at start and on the "fleet_status" schedule;
// after a key_not_paired result it also runs on the connectivity schedule,
// at most every PairingRecheckEvery for PairingRecheckFor, so the entity
// turns on soon after the user approves the key in the car.
const (
	PairingRecheckEvery = 2 * time.Minute
	PairingRecheckFor   = 30 * time.Minute
)

// fleetStatusJob is the "fleet_status" job. Building it runs the start-up
// check (the jobs are built once, right after the first reads) and hooks
// the post-failure re-check onto the connectivity schedule, so that one
// job carries all of pairing.
func (cs *cars) fleetStatusJob(ctx context.Context) func() {
	r := cs.r
	cs.pollFleetStatus(ctx)
	if spec := r.opts.Specs.Connectivity; spec != "" {
		recheck := func() { r.guard("key_recheck", func() { cs.recheckPairing(ctx) }) }
		if err := r.opts.Scheduler.Add("connectivity", spec, recheck); err != nil {
			r.log.Warn().Err(err).Msg("cannot schedule the key pairing re-check")
		}
	}
	return func() { cs.pollFleetStatus(ctx) }
}

// pollFleetStatus reads pairing and signing for every car in one call; a
// car in Bluetooth range is asked over Bluetooth instead.
func (cs *cars) pollFleetStatus(ctx context.Context) {
	cs.checkPairing(ctx, vinsOf(cs.checkPairingBLE(ctx, cs.all())))
}

// recheckPairing checks the cars that recently failed with key_not_paired.
func (cs *cars) recheckPairing(ctx context.Context) {
	r := cs.r
	now := r.now()
	var due []*car
	for _, c := range cs.all() {
		r.mu.Lock()
		if now.Before(c.keyRecheckUntil) && now.Sub(c.keyCheckedAt) >= PairingRecheckEvery {
			due = append(due, c)
		}
		r.mu.Unlock()
	}
	cs.checkPairing(ctx, vinsOf(cs.checkPairingBLE(ctx, due)))
}

// vinsOf returns the cars' VINs.
func vinsOf(cars []*car) []string {
	vins := make([]string, 0, len(cars))
	for _, c := range cars {
		vins = append(vins, c.d.uid)
	}
	return vins
}

// checkPairing asks fleet_status about vins and publishes what changed. It
// tells a Commander that chooses REST or signed per car which cars need
// signing, before the first command is tried.
func (cs *cars) checkPairing(ctx context.Context, vins []string) {
	r := cs.r
	if len(vins) == 0 {
		return
	}
	fs, err := r.fleet.FleetStatus(ctx, vins)
	if err != nil {
		r.log.Warn().Err(err).Msg("fleet_status failed; key pairing state not updated")
		return
	}
	now := r.now()
	obs, _ := r.cmdr.(command.SigningObserver)
	var changed []*car
	for _, vin := range vins {
		info, known := fs.VehicleInfo[vin]
		paired := fs.KeyPaired(vin)
		listed := paired || slices.Contains(fs.UnpairedVINs, vin)
		r.mu.Lock()
		c := cs.byVIN(vin)
		if c == nil {
			r.mu.Unlock()
			continue
		}
		v := c.v
		oldPaired, oldSigning := v.KeyPaired, v.CommandSigning
		c.keyCheckedAt = now
		if listed {
			v.KeyPaired = entity.Ptr(paired)
		}
		if paired {
			c.keyRecheckUntil = time.Time{}
		}
		if known {
			switch {
			case info.VehicleCommandProtocolRequired:
				v.CommandSigning = "required"
			case v.CommandSigning == "" || v.CommandSigning == "required":
				v.CommandSigning = "allowed" // "off" (no protocol at all) stays
			}
		}
		if v.CommandSigning != oldSigning || (oldPaired == nil) != (v.KeyPaired == nil) ||
			(oldPaired != nil && *oldPaired != *v.KeyPaired) {
			changed = append(changed, c)
		}
		r.mu.Unlock()
		if known && obs != nil {
			obs.SetSigningRequired(vin, info.VehicleCommandProtocolRequired)
		}
	}
	for _, c := range changed {
		r.log.Info().Str("device", c.d.name).Msg("key pairing state changed")
		r.host.State(c.d, false)
	}
}

// noteResult: a key_not_paired result turns the key_paired entity off and
// starts the pairing re-check. A command the car ran over Bluetooth, where
// every command is signed, proves the key paired.
func (c *car) noteResult(res command.Result) {
	if res.Status == command.StatusOK && viaBLE(res.Via) {
		c.v.KeyPaired = entity.Ptr(true)
		c.keyRecheckUntil = time.Time{}
		return
	}
	if res.Code() != command.CodeKeyNotPaired {
		return
	}
	now := c.cs.r.now()
	c.v.KeyPaired = entity.Ptr(false)
	c.keyRecheckUntil = now.Add(PairingRecheckFor)
	c.keyCheckedAt = now
}
