package fleet

import (
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"
)

// BodyState is what the car's body controller (VCSEC) tells over BLE: sleep
// status, locks, doors and user presence. VCSEC answers while the rest of
// the car sleeps, without waking it and without a paired key, so the bridge
// learns "asleep" or "locked" for free instead of from a cloud check. Nil
// fields are ones the car reported as unknown.
type BodyState struct {
	// Asleep is infotainment's sleep status.
	Asleep *bool
	// Locked is true for locked and locked-from-inside.
	Locked *bool
	// UserPresent: someone is in the car.
	UserPresent *bool
	// Open closures (true = open, ajar, opening or closing).
	DriverFront, DriverRear, PassengerFront, PassengerRear *bool
	FrontTrunk, RearTrunk, ChargePort                      *bool
}

// State is the connectivity state the body controller implies: StateAsleep
// or StateOnline, "" when the car did not say.
func (b *BodyState) State() string {
	switch {
	case b == nil || b.Asleep == nil:
		return ""
	case *b.Asleep:
		return StateAsleep
	}
	return StateOnline
}

// VehicleData is the part of the vehicle_data view the body controller
// fills: the state and vehicle_state's locks, doors, trunks and presence
// (0 closed, 1 open, as vehicle_data). The bridge merges it into its view
// like any read, so one entity table serves BLE too.
func (b *BodyState) VehicleData(vin string) *VehicleData {
	d := &VehicleData{VIN: vin, State: b.State()}
	v := &VehicleStateData{Locked: b.Locked, IsUserPresent: b.UserPresent}
	for _, c := range []struct {
		open *bool
		dst  **float64
	}{
		{b.DriverFront, &v.DriverFront}, {b.DriverRear, &v.DriverRear},
		{b.PassengerFront, &v.PassengerFront}, {b.PassengerRear, &v.PassengerRear},
		{b.FrontTrunk, &v.FrontTrunk}, {b.RearTrunk, &v.RearTrunk},
	} {
		if c.open != nil {
			n := 0.0
			if *c.open {
				n = 1
			}
			*c.dst = &n
		}
	}
	d.Vehicle = v
	if b.ChargePort != nil {
		d.Charge = &ChargeStateData{ChargePortDoorOpen: b.ChargePort}
	}
	return d
}

// bodyStateFromVCSEC maps VCSEC's VehicleStatus.
func bodyStateFromVCSEC(s *vcsec.VehicleStatus) *BodyState {
	b := &BodyState{}
	if s == nil {
		return b
	}
	switch s.GetVehicleSleepStatus() {
	case vcsec.VehicleSleepStatus_E_VEHICLE_SLEEP_STATUS_ASLEEP:
		b.Asleep = ptr(true)
	case vcsec.VehicleSleepStatus_E_VEHICLE_SLEEP_STATUS_AWAKE:
		b.Asleep = ptr(false)
	}
	switch s.GetVehicleLockState() {
	case vcsec.VehicleLockState_E_VEHICLELOCKSTATE_LOCKED, vcsec.VehicleLockState_E_VEHICLELOCKSTATE_INTERNAL_LOCKED:
		b.Locked = ptr(true)
	case vcsec.VehicleLockState_E_VEHICLELOCKSTATE_UNLOCKED, vcsec.VehicleLockState_E_VEHICLELOCKSTATE_SELECTIVE_UNLOCKED:
		b.Locked = ptr(false)
	}
	switch s.GetUserPresence() {
	case vcsec.UserPresence_E_VEHICLE_USER_PRESENCE_PRESENT:
		b.UserPresent = ptr(true)
	case vcsec.UserPresence_E_VEHICLE_USER_PRESENCE_NOT_PRESENT:
		b.UserPresent = ptr(false)
	}
	if c := s.GetClosureStatuses(); c != nil {
		b.DriverFront, b.DriverRear = closureOpen(c.GetFrontDriverDoor()), closureOpen(c.GetRearDriverDoor())
		b.PassengerFront, b.PassengerRear = closureOpen(c.GetFrontPassengerDoor()), closureOpen(c.GetRearPassengerDoor())
		b.FrontTrunk, b.RearTrunk = closureOpen(c.GetFrontTrunk()), closureOpen(c.GetRearTrunk())
		b.ChargePort = closureOpen(c.GetChargePort())
	}
	return b
}

// closureOpen: anything but closed or unknown counts as open, as a door
// that is ajar or still moving is not shut.
func closureOpen(s vcsec.ClosureState_E) *bool {
	switch s {
	case vcsec.ClosureState_E_CLOSURESTATE_CLOSED:
		return ptr(false)
	case vcsec.ClosureState_E_CLOSURESTATE_UNKNOWN:
		return nil
	}
	return ptr(true)
}

func ptr[T any](v T) *T { return &v }
