package fleetsim

// What the simulated car answers over BLE: the body controller's
// VehicleStatus (VCSEC, answered asleep or awake) and infotainment's
// GetState categories (carserver.VehicleData). The categories are built
// from the same values as the car's vehicle_data JSON (vehicle_json.go),
// renamed to the protobuf's fields, so both transports tell the same state
// and a test comparing them checks the client's mapping, not two copies of
// the simulator.

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"
)

// vcsecStatus is the body controller's view of the car. The simulator has
// no door model: doors read closed; trunks and the charge port follow the car.
func (v *vehicleSim) vcsecStatus() *vcsec.VehicleStatus {
	s := &v.snap
	closed, open := vcsec.ClosureState_E_CLOSURESTATE_CLOSED, vcsec.ClosureState_E_CLOSURESTATE_OPEN
	pick := func(b bool) vcsec.ClosureState_E {
		if b {
			return open
		}
		return closed
	}
	st := &vcsec.VehicleStatus{
		ClosureStatuses: &vcsec.ClosureStatuses{FrontDriverDoor: closed, FrontPassengerDoor: closed,
			RearDriverDoor: closed, RearPassengerDoor: closed,
			RearTrunk: pick(s.TrunkOpen), FrontTrunk: pick(s.FrunkOpen), ChargePort: pick(s.ChargePortOpen)},
		VehicleLockState:   vcsec.VehicleLockState_E_VEHICLELOCKSTATE_UNLOCKED,
		VehicleSleepStatus: vcsec.VehicleSleepStatus_E_VEHICLE_SLEEP_STATUS_ASLEEP,
		UserPresence:       vcsec.UserPresence_E_VEHICLE_USER_PRESENCE_NOT_PRESENT,
	}
	if s.Locked {
		st.VehicleLockState = vcsec.VehicleLockState_E_VEHICLELOCKSTATE_LOCKED
	}
	if v.online() {
		st.VehicleSleepStatus = vcsec.VehicleSleepStatus_E_VEHICLE_SLEEP_STATUS_AWAKE
	}
	if s.UserPresent {
		st.UserPresence = vcsec.UserPresence_E_VEHICLE_USER_PRESENCE_PRESENT
	}
	return st
}

// stateProto answers GetState for the categories in get.
func (v *vehicleSim) stateProto(now time.Time, get *carserver.GetVehicleData) *carserver.VehicleData {
	ts := now.UnixMilli()
	out := &carserver.VehicleData{}
	stamp := timestamppb.New(now)
	if get.GetGetChargeState() != nil {
		cj := v.chargeState(ts)
		m := &carserver.ChargeState{Timestamp: stamp}
		fromJSON(m, cj, map[string]string{"charging_amps": "charge_amps", "charge_rate_mph_float": "charge_rate"})
		mark(m, "charging_state", v.snap.ChargingState)
		mark(m, "charge_port_latch", jsonString(cj, "charge_port_latch"))
		cable := jsonString(cj, "conn_charge_cable")
		if cable == "<invalid>" {
			cable = "SNA"
		}
		mark(m, "conn_charge_cable", cable)
		enum(m, "scheduled_charging_mode", "ScheduledChargingMode"+jsonString(cj, "scheduled_charging_mode"))
		out.ChargeState = m
	}
	if get.GetGetClimateState() != nil {
		cj := v.climateState(ts)
		m := &carserver.ClimateState{Timestamp: stamp}
		fromJSON(m, cj, map[string]string{"inside_temp_celsius": "inside_temp", "outside_temp_celsius": "outside_temp",
			"min_avail_temp_celsius": "min_avail_temp", "max_avail_temp_celsius": "max_avail_temp",
			"bioweapon_mode_on": "bioweapon_mode"})
		keepers := map[string]string{"off": "Off", "keep": "On", "dog": "Dog", "camp": "Party"}
		mark(m, "climate_keeper_mode", keepers[jsonString(cj, "climate_keeper_mode")])
		defrost := "Off"
		if v.snap.DefrostMax {
			defrost = "Max"
		}
		mark(m, "defrost_mode", defrost)
		enum(m, "cabin_overheat_protection", "CabinOverheatProtection"+jsonString(cj, "cabin_overheat_protection"))
		enum(m, "steering_wheel_heat_level", "StwHeatLevel_Off")
		enum(m, "cop_activation_temperature", "CopActivationTemp"+jsonString(cj, "cop_activation_temperature"))
		out.ClimateState = m
	}
	if get.GetGetDriveState() != nil {
		dj := v.driveState(now, false)
		m := &carserver.DriveState{Timestamp: stamp}
		fromJSON(m, dj, nil)
		if s, ok := dj["shift_state"].(string); ok {
			mark(m, "shift_state", s)
		}
		m.OptionalOdometerInHundredthsOfAMile = &carserver.DriveState_OdometerInHundredthsOfAMile{
			OdometerInHundredthsOfAMile: int32(round(v.snap.Odometer*100, 0))}
		out.DriveState = m
	}
	if get.GetGetLocationState() != nil {
		lj := v.driveState(now, true)
		m := &carserver.LocationState{Timestamp: stamp}
		fromJSON(m, lj, nil)
		mark(m, "native_type", "WGS")
		out.LocationState = m
	}
	if get.GetGetClosuresState() != nil {
		vj := v.vehicleState(now, ts)
		m := &carserver.ClosuresState{Timestamp: stamp}
		fromJSON(m, vj, map[string]string{"door_open_driver_front": "df", "door_open_driver_rear": "dr",
			"door_open_passenger_front": "pf", "door_open_passenger_rear": "pr", "door_open_trunk_front": "ft",
			"door_open_trunk_rear": "rt", "window_open_driver_front": "fd_window", "window_open_passenger_front": "fp_window",
			"window_open_driver_rear": "rd_window", "window_open_passenger_rear": "rp_window"})
		sentry := "Off"
		if v.snap.Sentry {
			sentry = "Armed"
		}
		mark(m, "sentry_mode_state", sentry)
		out.ClosuresState = m
	}
	if get.GetGetTirePressureState() != nil {
		m := &carserver.TirePressureState{Timestamp: stamp}
		fromJSON(m, v.vehicleState(now, ts), nil)
		out.TirePressureState = m
	}
	if get.GetGetSoftwareUpdateState() != nil {
		m := &carserver.SoftwareUpdateState{Timestamp: stamp}
		su, _ := v.vehicleState(now, ts)["software_update"].(map[string]any)
		fromJSON(m, su, nil)
		out.SoftwareUpdateState = m
	}
	if get.GetGetChargeScheduleState() != nil {
		out.ChargeScheduleState = &carserver.ChargeScheduleState{Timestamp: stamp}
	}
	if get.GetGetPreconditioningScheduleState() != nil {
		out.PreconditioningScheduleState = &carserver.PreconditioningScheduleState{Timestamp: stamp}
	}
	return out
}

// fromJSON sets every scalar field of m that the JSON block has a value
// for, under the field's own name or rename[field]. Numbers become bools
// as Tesla's 0/1 closures do; values of another shape are left out.
func fromJSON(m proto.Message, src map[string]any, rename map[string]string) {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		key := string(fd.Name())
		if alt, ok := rename[key]; ok {
			key = alt
		}
		var num float64
		isNum := true
		switch x := src[key].(type) {
		case float64:
			num = x
		case int:
			num = float64(x)
		case int64:
			num = float64(x)
		default:
			isNum = false
		}
		switch fd.Kind() {
		case protoreflect.BoolKind:
			if b, ok := src[key].(bool); ok {
				r.Set(fd, protoreflect.ValueOfBool(b))
			} else if isNum {
				r.Set(fd, protoreflect.ValueOfBool(num != 0))
			}
		case protoreflect.StringKind:
			if s, ok := src[key].(string); ok {
				r.Set(fd, protoreflect.ValueOfString(s))
			}
		case protoreflect.Int32Kind, protoreflect.Sint32Kind:
			if isNum {
				r.Set(fd, protoreflect.ValueOfInt32(int32(round(num, 0))))
			}
		case protoreflect.Int64Kind, protoreflect.Sint64Kind:
			if isNum {
				r.Set(fd, protoreflect.ValueOfInt64(int64(round(num, 0))))
			}
		case protoreflect.Uint32Kind:
			if isNum && num >= 0 {
				r.Set(fd, protoreflect.ValueOfUint32(uint32(round(num, 0))))
			}
		case protoreflect.Uint64Kind:
			if isNum && num >= 0 {
				r.Set(fd, protoreflect.ValueOfUint64(uint64(round(num, 0))))
			}
		case protoreflect.FloatKind:
			if isNum {
				r.Set(fd, protoreflect.ValueOfFloat32(float32(num)))
			}
		}
	}
}

// jsonString is the string value of key in a JSON block, "" when absent.
func jsonString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// mark sets a Void-marker message field (ChargingState{Charging{}}); an
// unknown marker leaves the field out.
func mark(m proto.Message, field, marker string) {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(protoreflect.Name(field))
	if fd == nil || fd.Message() == nil {
		return
	}
	sub := r.NewField(fd).Message()
	mfd := sub.Descriptor().Fields().ByName(protoreflect.Name(marker))
	if mfd == nil || mfd.Message() == nil {
		return
	}
	sub.Set(mfd, protoreflect.ValueOfMessage(sub.NewField(mfd).Message()))
	r.Set(fd, protoreflect.ValueOfMessage(sub))
}

// enum sets an enum field by its value's name; an unknown name leaves it out.
func enum(m proto.Message, field, value string) {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(protoreflect.Name(field))
	if fd == nil || fd.Enum() == nil {
		return
	}
	if ev := fd.Enum().Values().ByName(protoreflect.Name(value)); ev != nil {
		r.Set(fd, protoreflect.ValueOfEnum(ev.Number()))
	}
}
