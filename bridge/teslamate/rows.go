package teslamate

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// row is one TeslaMate topic: its key and its payload for a car; ok=false
// when Tesla did not send the value, and the topic is left out, as
// TeslaMate does.
type row struct {
	key   string
	value func(v *entity.VehicleView) (payload string, ok bool)
}

// Values returns TeslaMate's keys and payloads for a car, from the rows.
func Values(v *entity.VehicleView) map[string]string {
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		if p, ok := r.value(v); ok {
			out[r.key] = p
		}
	}
	return out
}

// The car's blocks, nil when Tesla has not sent them.
func charge(d *fleet.VehicleData) *fleet.ChargeStateData   { return d.Charge }
func climate(d *fleet.VehicleData) *fleet.ClimateStateData { return d.Climate }
func drive(d *fleet.VehicleData) *fleet.DriveStateData     { return d.Drive }
func vstate(d *fleet.VehicleData) *fleet.VehicleStateData  { return d.Vehicle }
func config(d *fleet.VehicleData) *fleet.VehicleConfigData { return d.Config }

// field reads one field of a block, nil when the block or the field is absent.
func field[B, T any](block func(*fleet.VehicleData) *B, get func(*B) *T) func(*entity.VehicleView) *T {
	return func(v *entity.VehicleView) *T {
		if b := block(&v.Data); b != nil {
			return get(b)
		}
		return nil
	}
}

// num is a number in TeslaMate's unit: the API's value times factor,
// rounded to places.
func num[B any](key string, block func(*fleet.VehicleData) *B, get func(*B) *float64, factor float64, places int) row {
	f := field(block, get)
	return row{key, func(v *entity.VehicleView) (string, bool) {
		if x := f(v); x != nil {
			return strconv.FormatFloat(entity.Round(*x*factor, places), 'f', -1, 64), true
		}
		return "", false
	}}
}

// str is a string as Tesla sends it.
func str[B any](key string, block func(*fleet.VehicleData) *B, get func(*B) *string) row {
	f := field(block, get)
	return row{key, func(v *entity.VehicleView) (string, bool) {
		if x := f(v); x != nil {
			return *x, true
		}
		return "", false
	}}
}

// flag is a bool as true/false.
func flag[B any](key string, block func(*fleet.VehicleData) *B, get func(*B) *bool) row {
	f := field(block, get)
	return row{key, func(v *entity.VehicleView) (string, bool) {
		if x := f(v); x != nil {
			return strconv.FormatBool(*x), true
		}
		return "", false
	}}
}

// open is true when any of Tesla's 0/1 (doors, trunks) or 0/1/2 (windows)
// says open; absent when none is known.
func open(key string, gets ...func(*fleet.VehicleStateData) *float64) row {
	return row{key, func(v *entity.VehicleView) (string, bool) {
		s := v.Data.Vehicle
		if s == nil {
			return "", false
		}
		isOpen, known := false, false
		for _, get := range gets {
			if f := get(s); f != nil {
				known = true
				isOpen = isOpen || *f != 0
			}
		}
		return strconv.FormatBool(isOpen), known
	}}
}

// km is TeslaMate's unit for the API's miles and mph.
const km = entity.KmPerMile

type (
	cs = fleet.ChargeStateData
	cl = fleet.ClimateStateData
	ds = fleet.DriveStateData
	vs = fleet.VehicleStateData
	vc = fleet.VehicleConfigData
)

// rows are TeslaMate's topics (website/docs/integrations/mqtt.md, plus
// the keys newer releases publish). "healthy" and "since" come from the
// bridge, not from the car's data (Topics.OnState).
var rows = []row{
	{"display_name", func(v *entity.VehicleView) (string, bool) { return v.DisplayName, v.DisplayName != "" }},
	{"state", func(v *entity.VehicleView) (string, bool) { return stateOf(v), true }},

	num("battery_level", charge, func(c *cs) *float64 { return c.BatteryLevel }, 1, 0),
	num("usable_battery_level", charge, func(c *cs) *float64 { return c.UsableBatteryLevel }, 1, 0),
	num("est_battery_range_km", charge, func(c *cs) *float64 { return c.EstBatteryRange }, km, 2),
	num("rated_battery_range_km", charge, func(c *cs) *float64 { return c.BatteryRange }, km, 2),
	num("ideal_battery_range_km", charge, func(c *cs) *float64 { return c.IdealBatteryRange }, km, 2),
	str("charging_state", charge, func(c *cs) *string { return c.ChargingState }),
	// TeslaMate's own rule: plugged in unless the state says the cable is out.
	{"plugged_in", func(v *entity.VehicleView) (string, bool) {
		if c := v.Data.Charge; c != nil && c.ChargingState != nil {
			return strconv.FormatBool(*c.ChargingState != "Disconnected" && *c.ChargingState != ""), true
		}
		return "", false
	}},
	num("charge_energy_added", charge, func(c *cs) *float64 { return c.ChargeEnergyAdded }, 1, 2),
	num("charge_limit_soc", charge, func(c *cs) *float64 { return c.ChargeLimitSOC }, 1, 0),
	flag("charge_port_door_open", charge, func(c *cs) *bool { return c.ChargePortDoorOpen }),
	num("charger_actual_current", charge, func(c *cs) *float64 { return c.ChargerActualCurrent }, 1, 2),
	num("charger_phases", charge, func(c *cs) *float64 { return c.ChargerPhases }, 1, 0),
	num("charger_power", charge, func(c *cs) *float64 { return c.ChargerPower }, 1, 2),
	num("charger_voltage", charge, func(c *cs) *float64 { return c.ChargerVoltage }, 1, 0),
	num("charge_current_request", charge, func(c *cs) *float64 { return c.ChargeCurrentRequest }, 1, 0),
	num("charge_current_request_max", charge, func(c *cs) *float64 { return c.ChargeCurrentRequestMax }, 1, 0),
	num("time_to_full_charge", charge, func(c *cs) *float64 { return c.TimeToFullCharge }, 1, 2),
	{"scheduled_charging_start_time", func(v *entity.VehicleView) (string, bool) {
		if c := v.Data.Charge; c != nil && c.ScheduledChargingStart != nil && *c.ScheduledChargingStart > 0 {
			return time.Unix(int64(*c.ScheduledChargingStart), 0).UTC().Format(time.RFC3339), true
		}
		return "", false
	}},

	flag("is_climate_on", climate, func(c *cl) *bool { return c.IsClimateOn }),
	num("inside_temp", climate, func(c *cl) *float64 { return c.InsideTemp }, 1, 1),
	num("outside_temp", climate, func(c *cl) *float64 { return c.OutsideTemp }, 1, 1),
	flag("is_preconditioning", climate, func(c *cl) *bool { return c.IsPreconditioning }),

	num("latitude", drive, func(d *ds) *float64 { return d.Latitude }, 1, 6),
	num("longitude", drive, func(d *ds) *float64 { return d.Longitude }, 1, 6),
	num("heading", drive, func(d *ds) *float64 { return d.Heading }, 1, 0),
	num("speed", drive, func(d *ds) *float64 { return d.Speed }, km, 0),
	// power is the API's drive_state.power in kW, as TeslaMate passes it on.
	num("power", drive, func(d *ds) *float64 { return d.Power }, 1, 0),
	str("shift_state", drive, func(d *ds) *string { return d.ShiftState }),
	{"location", func(v *entity.VehicleView) (string, bool) {
		d := v.Data.Drive
		if d == nil || d.Latitude == nil || d.Longitude == nil {
			return "", false
		}
		loc, _ := json.Marshal(map[string]float64{"latitude": *d.Latitude, "longitude": *d.Longitude})
		return string(loc), true
	}},

	{"version", func(v *entity.VehicleView) (string, bool) {
		if s := v.Data.Vehicle; s != nil && s.CarVersion != nil {
			return strings.Fields(*s.CarVersion + " ")[0], true
		}
		return "", false
	}},
	num("odometer", vstate, func(s *vs) *float64 { return s.Odometer }, km, 2),
	flag("locked", vstate, func(s *vs) *bool { return s.Locked }),
	flag("sentry_mode", vstate, func(s *vs) *bool { return s.SentryMode }),
	flag("is_user_present", vstate, func(s *vs) *bool { return s.IsUserPresent }),
	open("doors_open", func(s *vs) *float64 { return s.DriverFront }, func(s *vs) *float64 { return s.DriverRear },
		func(s *vs) *float64 { return s.PassengerFront }, func(s *vs) *float64 { return s.PassengerRear }),
	open("driver_front_door_open", func(s *vs) *float64 { return s.DriverFront }),
	open("driver_rear_door_open", func(s *vs) *float64 { return s.DriverRear }),
	open("passenger_front_door_open", func(s *vs) *float64 { return s.PassengerFront }),
	open("passenger_rear_door_open", func(s *vs) *float64 { return s.PassengerRear }),
	open("windows_open", func(s *vs) *float64 { return s.FdWindow }, func(s *vs) *float64 { return s.FpWindow },
		func(s *vs) *float64 { return s.RdWindow }, func(s *vs) *float64 { return s.RpWindow }),
	open("trunk_open", func(s *vs) *float64 { return s.RearTrunk }),
	open("frunk_open", func(s *vs) *float64 { return s.FrontTrunk }),
	num("tpms_pressure_fl", vstate, func(s *vs) *float64 { return s.TpmsPressureFL }, 1, 2),
	num("tpms_pressure_fr", vstate, func(s *vs) *float64 { return s.TpmsPressureFR }, 1, 2),
	num("tpms_pressure_rl", vstate, func(s *vs) *float64 { return s.TpmsPressureRL }, 1, 2),
	num("tpms_pressure_rr", vstate, func(s *vs) *float64 { return s.TpmsPressureRR }, 1, 2),
	{"update_available", func(v *entity.VehicleView) (string, bool) {
		st, ok := updateStatus(v)
		return strconv.FormatBool(updating(st)), ok
	}},
	{"update_version", func(v *entity.VehicleView) (string, bool) {
		if st, ok := updateStatus(v); ok && updating(st) && v.Data.Vehicle.SoftwareUpdate.Version != nil {
			return *v.Data.Vehicle.SoftwareUpdate.Version, true
		}
		return "", false
	}},

	{"model", func(v *entity.VehicleView) (string, bool) {
		if c := v.Data.Config; c != nil && c.CarType != nil {
			m := model(*c.CarType)
			return m, m != ""
		}
		return "", false
	}},
	str("trim_badging", config, func(c *vc) *string { return c.TrimBadging }),
	str("exterior_color", config, func(c *vc) *string { return c.ExteriorColor }),
	str("wheel_type", config, func(c *vc) *string { return c.WheelType }),
}

// updateStatus is the software update's status, ok=false when unknown.
func updateStatus(v *entity.VehicleView) (string, bool) {
	if s := v.Data.Vehicle; s != nil && s.SoftwareUpdate != nil && s.SoftwareUpdate.Status != nil {
		return *s.SoftwareUpdate.Status, true
	}
	return "", false
}

// updating reports an update statuses TeslaMate calls available.
func updating(status string) bool {
	switch status {
	case "available", "scheduled", "downloading", "downloading_wifi_wait", "installing":
		return true
	}
	return false
}

// stateOf maps the Fleet state and the car's activity onto TeslaMate's
// states: online, asleep, offline, charging, driving, updating.
func stateOf(v *entity.VehicleView) string {
	switch v.State {
	case fleet.StateAsleep:
		return "asleep"
	case fleet.StateOnline:
	default:
		return "offline"
	}
	if s := v.Data.Vehicle; s != nil && s.SoftwareUpdate != nil && s.SoftwareUpdate.Status != nil &&
		*s.SoftwareUpdate.Status == "installing" {
		return "updating"
	}
	switch entity.Mode(&v.Data) {
	case entity.ModeDriving:
		return "driving"
	case entity.ModeCharging:
		return "charging"
	}
	return "online"
}

// model is TeslaMate's one-letter model.
func model(carType string) string {
	switch strings.ToLower(carType) {
	case "models", "models2", "lychee":
		return "S"
	case "model3":
		return "3"
	case "modelx", "tamarind":
		return "X"
	case "modely":
		return "Y"
	}
	return ""
}
