package fleet

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"
)

// fieldProblems lists every table row whose protobuf field (or marker, or
// enum value) does not exist: a typo would otherwise read as "the car never
// sends it" and silently blank an entity over BLE.
func fieldProblems[T any](table string, md protoreflect.MessageDescriptor, fields []bleField[T]) []string {
	var out []string
	for _, f := range fields {
		fd := md.Fields().ByName(protoreflect.Name(f.name))
		if fd == nil {
			out = append(out, fmt.Sprintf("%s: %s has no field %q", table, md.FullName(), f.name))
			continue
		}
		for choice := range f.choices {
			switch {
			case choice == "": // "absent" is a valid key
			case fd.Enum() != nil:
				if fd.Enum().Values().ByName(protoreflect.Name(choice)) == nil {
					out = append(out, fmt.Sprintf("%s: enum %s has no value %q", table, fd.Enum().FullName(), choice))
				}
			case fd.Message() != nil:
				if fd.Message().Fields().ByName(protoreflect.Name(choice)) == nil {
					out = append(out, fmt.Sprintf("%s: %s has no marker %q", table, fd.Message().FullName(), choice))
				}
			default:
				out = append(out, fmt.Sprintf("%s: %q is neither an enum nor a marker message", table, f.name))
			}
		}
	}
	return out
}

func TestBLEFieldNamesExist(t *testing.T) {
	var ps []string
	ps = append(ps, fieldProblems("charge", (&carserver.ChargeState{}).ProtoReflect().Descriptor(), bleChargeFields)...)
	ps = append(ps, fieldProblems("climate", (&carserver.ClimateState{}).ProtoReflect().Descriptor(), bleClimateFields)...)
	ps = append(ps, fieldProblems("drive", (&carserver.DriveState{}).ProtoReflect().Descriptor(), bleDriveFields)...)
	ps = append(ps, fieldProblems("location", (&carserver.LocationState{}).ProtoReflect().Descriptor(), bleLocationFields)...)
	ps = append(ps, fieldProblems("closures", (&carserver.ClosuresState{}).ProtoReflect().Descriptor(), bleClosureFields)...)
	ps = append(ps, fieldProblems("tyres", (&carserver.TirePressureState{}).ProtoReflect().Descriptor(), bleTireFields)...)
	ps = append(ps, fieldProblems("software", (&carserver.SoftwareUpdateState{}).ProtoReflect().Descriptor(), bleSoftwareFields)...)
	vd := (&carserver.VehicleData{}).ProtoReflect().Descriptor()
	for _, name := range []string{"charge_state", "climate_state", "drive_state", "location_state",
		"closures_state", "tire_pressure_state", "software_update_state"} {
		if vd.Fields().ByName(protoreflect.Name(name)) == nil {
			ps = append(ps, fmt.Sprintf("VehicleData has no %q", name))
		}
	}
	for _, p := range ps {
		t.Error(p)
	}
}

// The check must catch a misspelt field or marker, or it proves nothing.
func TestBLEFieldCheckCatchesTypos(t *testing.T) {
	bad := []bleField[bleCS]{
		fNum("battery_levle", func(d *bleCS) **float64 { return &d.BatteryLevel }),
		fChoice("charging_state", map[string]string{"Chargin": "Charging"}, func(d *bleCS) **string { return &d.ChargingState }),
	}
	if ps := fieldProblems("charge", (&carserver.ChargeState{}).ProtoReflect().Descriptor(), bad); len(ps) != 2 {
		t.Errorf("problems = %q, want the field and the marker", ps)
	}
}

// markerMsg sets the Void marker named marker in field of m.
func markerMsg(t *testing.T, m protoreflect.Message, field, marker string) {
	t.Helper()
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(field))
	sub := m.NewField(fd).Message()
	mfd := sub.Descriptor().Fields().ByName(protoreflect.Name(marker))
	sub.Set(mfd, protoreflect.ValueOfMessage(sub.NewField(mfd).Message()))
	m.Set(fd, protoreflect.ValueOfMessage(sub))
}

// Every marker and enum value of the tables reads as the Fleet API's word
// for it: each is set alone and mapped.
func TestBLEChoicesMapToFleetWords(t *testing.T) {
	cases := []struct {
		field, marker string
		got           func(*VehicleData) any
		want          any
	}{
		{"charge_state.charging_state", "Charging", func(d *VehicleData) any { return *d.Charge.ChargingState }, "Charging"},
		{"charge_state.charging_state", "Disconnected", func(d *VehicleData) any { return *d.Charge.ChargingState }, "Disconnected"},
		{"charge_state.conn_charge_cable", "SNA", func(d *VehicleData) any { return *d.Charge.ConnChargeCable }, "<invalid>"},
		{"charge_state.charge_port_latch", "Engaged", func(d *VehicleData) any { return *d.Charge.ChargePortLatch }, "Engaged"},
		{"climate_state.climate_keeper_mode", "On", func(d *VehicleData) any { return *d.Climate.ClimateKeeperMode }, "keep"},
		{"climate_state.climate_keeper_mode", "Party", func(d *VehicleData) any { return *d.Climate.ClimateKeeperMode }, "camp"},
		{"climate_state.defrost_mode", "Max", func(d *VehicleData) any { return *d.Climate.DefrostMode }, 2.0},
		{"climate_state.defrost_mode", "Normal", func(d *VehicleData) any { return *d.Climate.DefrostMode }, 1.0},
		{"drive_state.shift_state", "R", func(d *VehicleData) any { return *d.Drive.ShiftState }, "R"},
		{"closures_state.sentry_mode_state", "Aware", func(d *VehicleData) any { return *d.Vehicle.SentryMode }, true},
		{"closures_state.sentry_mode_state", "Off", func(d *VehicleData) any { return *d.Vehicle.SentryMode }, false},
		{"software_update_state.status", "Available", func(d *VehicleData) any { return *d.Vehicle.SoftwareUpdate.Status }, "available"},
		{"location_state.native_type", "GCJ", func(d *VehicleData) any { return *d.Drive.NativeType }, "gcj"},
	}
	for _, c := range cases {
		pb := &carserver.VehicleData{}
		m := pb.ProtoReflect()
		block, field, _ := cutDot(c.field)
		bfd := m.Descriptor().Fields().ByName(protoreflect.Name(block))
		sub := m.NewField(bfd).Message()
		markerMsg(t, sub, field, c.marker)
		m.Set(bfd, protoreflect.ValueOfMessage(sub))
		if got := c.got(VehicleDataFromBLE("V", pb)); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.field, c.marker, got, c.want)
		}
	}
	cop := &carserver.VehicleData{ClimateState: &carserver.ClimateState{OptionalCabinOverheatProtection: &carserver.ClimateState_CabinOverheatProtection{
		CabinOverheatProtection: carserver.ClimateState_CabinOverheatProtectionFanOnly}}}
	if got := *VehicleDataFromBLE("V", cop).Climate.CabinOverheatProtection; got != "FanOnly" {
		t.Errorf("cabin overheat protection = %q, want FanOnly", got)
	}
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestBLEUnitsAndAbsence(t *testing.T) {
	pb := &carserver.VehicleData{
		DriveState: &carserver.DriveState{
			OptionalOdometerInHundredthsOfAMile: &carserver.DriveState_OdometerInHundredthsOfAMile{OdometerInHundredthsOfAMile: 1234567},
			Timestamp:                           timestamppb.New(timestamppb.Now().AsTime().Truncate(1e6)),
		},
		ChargeState: &carserver.ChargeState{
			OptionalBatteryRange:        &carserver.ChargeState_BatteryRange{BatteryRange: 206.46},
			OptionalMinutesToFullCharge: &carserver.ChargeState_MinutesToFullCharge{MinutesToFullCharge: 90},
			OptionalChargeRateMph:       &carserver.ChargeState_ChargeRateMph{ChargeRateMph: 22},
		},
	}
	d := VehicleDataFromBLE("V", pb)
	if d.Vehicle == nil || *d.Vehicle.Odometer != 12345.67 {
		t.Errorf("odometer = %v, want 12345.67 miles", d.Vehicle)
	}
	if *d.Charge.BatteryRange != 206.46 {
		t.Errorf("battery range = %v, want 206.46 (float32 read as its decimal)", *d.Charge.BatteryRange)
	}
	if *d.Charge.TimeToFullCharge != 1.5 || *d.Charge.ChargeRate != 22 {
		t.Errorf("time to full %v h, rate %v; want 1.5 and 22", *d.Charge.TimeToFullCharge, *d.Charge.ChargeRate)
	}
	if d.Charge.BatteryLevel != nil || d.Climate != nil || d.Drive.Speed != nil {
		t.Error("a field the car did not send is present")
	}
}

func TestBodyStateFromVCSEC(t *testing.T) {
	b := bodyStateFromVCSEC(&vcsec.VehicleStatus{
		VehicleSleepStatus: vcsec.VehicleSleepStatus_E_VEHICLE_SLEEP_STATUS_AWAKE,
		VehicleLockState:   vcsec.VehicleLockState_E_VEHICLELOCKSTATE_INTERNAL_LOCKED,
		UserPresence:       vcsec.UserPresence_E_VEHICLE_USER_PRESENCE_PRESENT,
		ClosureStatuses: &vcsec.ClosureStatuses{FrontDriverDoor: vcsec.ClosureState_E_CLOSURESTATE_AJAR,
			RearTrunk: vcsec.ClosureState_E_CLOSURESTATE_UNKNOWN},
	})
	if b.State() != StateOnline || !*b.Locked || !*b.UserPresent || !*b.DriverFront || b.RearTrunk != nil {
		t.Errorf("body state = %+v", b)
	}
	if bodyStateFromVCSEC(&vcsec.VehicleStatus{}).State() != "" {
		t.Error("an unknown sleep status reads as a state")
	}
}
