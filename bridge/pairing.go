package bridge

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Virtual-key pairing status. fleet_status is free and answers for many
// cars at once, so it runs at start and on the "fleet_status" schedule;
// after a key_not_paired result it also runs on the connectivity schedule,
// at most every pairingRecheckEvery for pairingRecheckFor, so the entity
// turns on soon after the user approves the key in the car.
const (
	pairingRecheckEvery = 2 * time.Minute
	pairingRecheckFor   = 30 * time.Minute
)

// pairingEntities are appended to the vehicle table. command_signing, the
// other pairing diagnostic, is already a row there and is fed by
// fleet_status as well.
var pairingEntities = []Entity[*VehicleView]{
	{Key: "key_paired", Platform: hass.BinarySensor, Name: "Virtual key paired", Icon: "mdi:key-wireless",
		Category: hass.CategoryDiagnostic, Source: SourceBridge,
		Value: func(v *VehicleView) any { return v.KeyPaired }},
}

// SigningObserver is implemented by Commanders that choose REST or signed
// per car (fleet.Commander): fleet_status tells them which cars need
// signing before the first command is tried.
type SigningObserver interface {
	SetSigningRequired(vin string, required bool)
}

// fleetStatusJob is the "fleet_status" job of schedule(). Building it runs
// the start-up check (schedule() runs once, right after the first reads)
// and hooks the post-failure re-check onto the connectivity schedule, so
// that one row in schedule() carries all of pairing.
func (b *Bridge) fleetStatusJob(ctx context.Context) func() {
	b.PollFleetStatus(ctx)
	if spec := b.opts.Schedule.Connectivity; spec != "" {
		recheck := func() { b.guard("key_recheck", func() { b.recheckPairing(ctx) }) }
		if err := b.opts.Scheduler.Add("connectivity", spec, recheck); err != nil {
			b.log.Warn().Err(err).Msg("cannot schedule the key pairing re-check")
		}
	}
	return func() { b.PollFleetStatus(ctx) }
}

// PollFleetStatus reads pairing and signing for every car in one call.
func (b *Bridge) PollFleetStatus(ctx context.Context) {
	var vins []string
	for _, d := range b.sortedDevices() {
		if d.kind == kindVehicle && d.vehicle != nil {
			vins = append(vins, d.uid)
		}
	}
	b.checkPairing(ctx, vins)
}

// recheckPairing checks the cars that recently failed with key_not_paired.
func (b *Bridge) recheckPairing(ctx context.Context) {
	now := b.now()
	var vins []string
	for _, d := range b.sortedDevices() {
		b.mu.Lock()
		due := d.kind == kindVehicle && d.vehicle != nil && now.Before(d.vehicle.keyRecheckUntil) &&
			now.Sub(d.vehicle.keyCheckedAt) >= pairingRecheckEvery
		b.mu.Unlock()
		if due {
			vins = append(vins, d.uid)
		}
	}
	b.checkPairing(ctx, vins)
}

// checkPairing asks fleet_status about vins and publishes what changed.
func (b *Bridge) checkPairing(ctx context.Context, vins []string) {
	if len(vins) == 0 {
		return
	}
	fs, err := b.fleet.FleetStatus(ctx, vins)
	if err != nil {
		b.log.Warn().Err(err).Msg("fleet_status failed; key pairing state not updated")
		return
	}
	now := b.now()
	obs, _ := b.opts.Commander.(SigningObserver)
	var changed []*device
	for _, vin := range vins {
		info, known := fs.VehicleInfo[vin]
		paired := fs.KeyPaired(vin)
		listed := paired || slices.Contains(fs.UnpairedVINs, vin)
		b.mu.Lock()
		d := b.byUID[vin]
		if d == nil || d.vehicle == nil {
			b.mu.Unlock()
			continue
		}
		v := d.vehicle
		oldPaired, oldSigning := v.KeyPaired, v.CommandSigning
		v.keyCheckedAt = now
		if listed {
			v.KeyPaired = Ptr(paired)
		}
		if paired {
			v.keyRecheckUntil = time.Time{}
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
			changed = append(changed, d)
		}
		b.mu.Unlock()
		if known && obs != nil {
			obs.SetSigningRequired(vin, info.VehicleCommandProtocolRequired)
		}
	}
	for _, d := range changed {
		b.log.Info().Str("device", d.name).Msg("key pairing state changed")
		b.publishState(d, false)
	}
}

// noteKeyNotPaired records a key_not_paired result: the entity turns off
// and the re-check starts.
func (b *Bridge) noteKeyNotPaired(d *device) {
	if d.vehicle == nil {
		return
	}
	now := b.now()
	b.mu.Lock()
	d.vehicle.KeyPaired = Ptr(false)
	d.vehicle.keyRecheckUntil = now.Add(pairingRecheckFor)
	d.vehicle.keyCheckedAt = now
	b.mu.Unlock()
}

// keyNotPairedResult is the key_not_paired result: the car's own words and
// the link that opens the Tesla app's pairing screen.
func (b *Bridge) keyNotPairedResult(d *device) *ResultError {
	b.noteKeyNotPaired(d)
	r := &ResultError{Code: CodeKeyNotPaired, Message: fleet.ErrKeyNotPaired.Error()}
	if b.opts.Domain == "" {
		r.Remedy = "set tesla.domain, then open https://tesla.com/_ak/<domain> on the phone with the Tesla app and approve the key in the car."
		return r
	}
	r.URL = fleet.PairingURL(b.opts.Domain, d.uid)
	r.Remedy = fmt.Sprintf("Open %s on the phone with the Tesla app and approve the key in the car.", fleet.PairingURL(b.opts.Domain, ""))
	return r
}
