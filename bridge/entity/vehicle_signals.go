package entity

import (
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Typed setters of the car table's Telemetry column: a streamed signal
// lands in the same vehicle_data field a poll fills, through a function the
// compiler checks, so a typo in a table row fails the build instead of the
// start-up.

// The blocks a signal may land in, under short names for the table's
// closures.
type (
	chargeData  = fleet.ChargeStateData
	climateData = fleet.ClimateStateData
	driveData   = fleet.DriveStateData
	vehicleData = fleet.VehicleStateData
)

// writable replaces *p by a copy of itself (an empty block when there is
// none) and returns the copy: a streamed value never changes a block that
// a poll result or a snapshot still shares.
func writable[B any](p **B) *B {
	c := new(B)
	if *p != nil {
		*c = **p
	}
	*p = c
	return c
}

// reader turns a received value into the field's value: nil clears the
// field, ok=false means the value could not be read (the field keeps its
// last value).
type reader[T any] func(TelemetryValue) (v *T, ok bool)

// signal feeds one field of the car's data from a signal.
func signal[B, T any](field string, block func(*VehicleView) *B, read reader[T], at func(*B) **T) Telemetry[*VehicleView] {
	return Telemetry[*VehicleView]{Field: field, Apply: func(v *VehicleView, t TelemetryValue) bool {
		x, ok := read(t)
		if !ok && t.Invalid() {
			x, ok = nil, true
		}
		if !ok {
			return false
		}
		*at(block(v)) = x
		return true
	}}
}

// onCharge, onClimate, onDrive and onVehicle feed a field of one block.
func onCharge[T any](field string, read reader[T], at func(*chargeData) **T) Telemetry[*VehicleView] {
	return signal(field, func(v *VehicleView) *chargeData { return writable(&v.Data.Charge) }, read, at)
}

func onClimate[T any](field string, read reader[T], at func(*climateData) **T) Telemetry[*VehicleView] {
	return signal(field, func(v *VehicleView) *climateData { return writable(&v.Data.Climate) }, read, at)
}

func onDrive[T any](field string, read reader[T], at func(*driveData) **T) Telemetry[*VehicleView] {
	return signal(field, func(v *VehicleView) *driveData { return writable(&v.Data.Drive) }, read, at)
}

func onVehicle[T any](field string, read reader[T], at func(*vehicleData) **T) Telemetry[*VehicleView] {
	return signal(field, func(v *VehicleView) *vehicleData { return writable(&v.Data.Vehicle) }, read, at)
}

// num, flag and text read a value in the field's own type, absorbing the
// type drift TelemetryValue documents.
func num(t TelemetryValue) (*float64, bool) {
	f, ok := t.Float()
	return &f, ok
}

func flag(t TelemetryValue) (*bool, bool) {
	b, ok := t.Bool()
	return &b, ok
}

func text(t TelemetryValue) (*string, bool) {
	s, ok := t.String()
	return &s, ok
}

// enum strips the proto enum prefix ("DetailedChargeStateCharging" →
// "Charging") and renames through names when given. Unknown, SNA and
// Invalid clear the field.
func enum(prefix string, names map[string]string) reader[string] {
	return func(t TelemetryValue) (*string, bool) {
		s, ok := t.String()
		if !ok {
			return nil, false
		}
		s = strings.TrimPrefix(strings.TrimSpace(s), prefix)
		switch s {
		case "Unknown", "SNA", "Invalid", "":
			return nil, true
		}
		if names != nil {
			n, ok := names[s]
			if !ok {
				return nil, false
			}
			return &n, true
		}
		return &s, true
	}
}

// vtSentry: SentryMode is a bool on older firmware and SentryModeState
// (Off, Idle, Armed, Aware, Panic, Quiet) since 2024.44; anything but Off
// means sentry is on, as the app shows it.
func vtSentry(t TelemetryValue) (*bool, bool) {
	if b, ok := t.Bool(); ok {
		return &b, true
	}
	s, ok := enum("SentryModeState", nil)(t)
	if !ok || s == nil {
		return nil, ok
	}
	on := *s != "Off"
	return &on, true
}

// vtWindow: WindowState Closed/PartiallyOpen/Opened as vehicle_data's
// 0/1/2; a number passes, a bool is closed or open.
func vtWindow(t TelemetryValue) (*float64, bool) {
	if f, ok := t.Float(); ok {
		return &f, true
	}
	if b, ok := t.Bool(); ok {
		f := 0.0
		if b {
			f = 2
		}
		return &f, true
	}
	s, ok := enum("WindowState", nil)(t)
	if !ok || s == nil {
		return nil, ok
	}
	f, ok := vWindowStates[*s]
	return &f, ok
}

var vWindowStates = map[string]float64{"Closed": 0, "PartiallyOpen": 1, "Opened": 2}

// vtLocation: Location {latitude, longitude} feeds both coordinates.
var vtLocation = Telemetry[*VehicleView]{Field: "Location", Apply: func(v *VehicleView, t TelemetryValue) bool {
	m, ok := t.Object()
	if !ok {
		return false
	}
	lat, okLat := TelemetryValue{m["latitude"]}.Float()
	lon, okLon := TelemetryValue{m["longitude"]}.Float()
	if !okLat || !okLon {
		return false
	}
	d := writable(&v.Data.Drive)
	d.Latitude, d.Longitude = &lat, &lon
	return true
}}

// vtDoors: DoorState {DriverFront, …, TrunkRear: bool} feeds the doors,
// frunk and trunk as vehicle_data's 0/1.
var vtDoors = Telemetry[*VehicleView]{Field: "DoorState", Apply: func(v *VehicleView, t TelemetryValue) bool {
	m, ok := t.Object()
	if !ok {
		return false
	}
	s := writable(&v.Data.Vehicle)
	for name, dst := range map[string]**float64{"DriverFront": &s.DriverFront, "DriverRear": &s.DriverRear,
		"PassengerFront": &s.PassengerFront, "PassengerRear": &s.PassengerRear,
		"TrunkFront": &s.FrontTrunk, "TrunkRear": &s.RearTrunk} {
		if open, ok := (TelemetryValue{m[name]}).Bool(); ok {
			x := 0.0
			if open {
				x = 1
			}
			*dst = &x
		}
	}
	return true
}}

// withT adds a Telemetry field to a row built by a helper (doors, windows,
// tyres, seat heaters).
func withT(e Entity[*VehicleView], t Telemetry[*VehicleView]) Entity[*VehicleView] {
	e.Telemetry = t
	return e
}

// Enum words of the streamed signals, as vehicle_data spells them.
var (
	vtChargeState = enum("DetailedChargeState", nil)
	vtGear        = enum("ShiftState", map[string]string{"P": "P", "R": "R", "N": "N", "D": "D"})
	vtLatch       = enum("ChargePortLatch", nil)
	vtSchedMode   = enum("ScheduledChargingMode", nil)
	// ClimateKeeperModeState Party is the app's Camp mode; "on" is what the
	// keeper row already reads as keep.
	vtKeeper = enum("ClimateKeeperModeState", map[string]string{"Off": "off", "On": "on", "Dog": "dog", "Party": "camp"})
	vtCOP    = enum("CabinOverheatProtectionModeState", map[string]string{"Off": "Off", "On": "On", "FanOnly": "FanOnly"})
)
