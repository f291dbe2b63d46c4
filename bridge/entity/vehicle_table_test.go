package entity

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// vtFixture is a full vehicle_data answer (shapes from HA's fixture, values
// chosen so every row has something to show).
const vtFixture = `{
 "vin": "5YJ3E1EA7PF000001", "state": "online",
 "charge_state": {"battery_level": 77, "usable_battery_level": 76, "battery_range": 266.87,
  "est_battery_range": 275.04, "ideal_battery_range": 266.87, "charging_state": "Charging",
  "charge_limit_soc": 80, "charge_current_request": 16, "charge_current_request_max": 32,
  "charge_amps": 16, "charger_actual_current": 16, "charger_voltage": 229, "charger_power": 4,
  "charger_phases": 1, "charge_energy_added": 12.41, "charge_rate": 14.2, "time_to_full_charge": 0.75,
  "charge_port_door_open": true, "charge_port_latch": "Engaged", "conn_charge_cable": "IEC",
  "fast_charger_present": false, "scheduled_charging_mode": "StartAt", "scheduled_charging_pending": true,
  "scheduled_charging_start_time": 1719993600, "energy_remaining": 55.3},
 "climate_state": {"inside_temp": 21.5, "outside_temp": 8, "driver_temp_setting": 21,
  "passenger_temp_setting": 20.5, "is_climate_on": true, "is_preconditioning": false,
  "is_front_defroster_on": false, "is_rear_defroster_on": false, "defrost_mode": 0, "fan_status": 4,
  "seat_heater_left": 3, "seat_heater_right": 0, "seat_heater_rear_left": 1, "seat_heater_rear_center": 0,
  "seat_heater_rear_right": 2, "steering_wheel_heater": false, "climate_keeper_mode": "dog",
  "cabin_overheat_protection": "FanOnly", "battery_heater": false},
 "drive_state": {"latitude": 52.39, "longitude": 13.06, "heading": 185, "shift_state": null, "speed": null,
  "power": -4, "active_route_destination": "Home", "active_route_minutes_to_arrival": 12.5,
  "active_route_miles_to_arrival": 5.1, "active_route_energy_at_arrival": 71},
 "vehicle_state": {"car_version": "2026.32.5 abcdef123456", "odometer": 12345.6, "locked": true,
  "sentry_mode": false, "df": 0, "dr": 0, "pf": 1, "pr": 0, "ft": 0, "rt": 1,
  "fd_window": 0, "fp_window": 0, "rd_window": 2, "rp_window": 0, "is_user_present": false,
  "valet_mode": false, "tpms_pressure_fl": 2.9, "tpms_pressure_fr": 2.875, "tpms_pressure_rl": 2.9,
  "tpms_pressure_rr": 2.925, "software_update": {"status": "available", "version": "2026.38.1"}}
}`

func vtView(t *testing.T) *VehicleView {
	t.Helper()
	var d fleet.VehicleData
	if err := json.Unmarshal([]byte(vtFixture), &d); err != nil {
		t.Fatal(err)
	}
	return &VehicleView{VIN: d.VIN, State: "online", CommandSigning: "allowed", Data: d, KeyPaired: Ptr(true),
		LastSeen: time.Date(2026, 6, 15, 10, 0, 0, 0, time.FixedZone("CEST", 7200))}
}

// vtUnits is HA_DISCOVERY §15.1 for the device classes the car table uses;
// "" means the class takes no unit.
var vtUnits = map[hass.DeviceClass][]string{
	hass.DCBattery:        {"%"},
	hass.DCSignalStrength: {"dB", "dBm"},
	hass.DCCurrent:        {"A", "mA"},
	hass.DCDistance:       {"mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"},
	hass.DCDuration:       {"d", "h", "min", "s", "ms", "μs"},
	hass.DCEnergy:         {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
	hass.DCEnergyStorage:  {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
	hass.DCPower:          {"mW", "W", "kW", "MW", "GW", "TW"},
	hass.DCPressure:       {"mPa", "Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "inH₂O", "psi"},
	hass.DCSpeed: {"Beaufort", "ft/s", "in/s", "km/h", "kn", "m/s", "m/min", "mm/s", "mph",
		"in/d", "in/h", "mm/d", "mm/h"},
	hass.DCTemperature: {"°C", "°F", "K"},
	hass.DCVoltage:     {"μV", "mV", "V", "kV", "MV"},
	hass.DCEnum:        {""},
	hass.DCTimestamp:   {""},
}

// vtStateClasses is HA_DISCOVERY §15.2 for the same classes.
var vtStateClasses = map[hass.DeviceClass][]hass.StateClass{
	hass.DCBattery: {hass.Measurement}, hass.DCCurrent: {hass.Measurement}, hass.DCPower: {hass.Measurement},
	hass.DCPressure: {hass.Measurement}, hass.DCSpeed: {hass.Measurement}, hass.DCTemperature: {hass.Measurement},
	hass.DCVoltage: {hass.Measurement}, hass.DCEnergyStorage: {hass.Measurement},
	hass.DCSignalStrength: {hass.Measurement},
	hass.DCEnergy:         {hass.Total, hass.TotalIncreasing},
	hass.DCDistance:       {hass.Measurement, hass.Total, hass.TotalIncreasing},
	hass.DCDuration:       {hass.Measurement, hass.Total, hass.TotalIncreasing},
	hass.DCEnum:           {}, hass.DCTimestamp: {},
}

// vtPlatformClasses is HA_DISCOVERY §15.3: device classes per non-sensor platform.
var vtPlatformClasses = map[hass.Platform][]string{
	hass.BinarySensor: strings.Fields("battery battery_charging carbon_monoxide cold connectivity door " +
		"garage_door gas heat light lock moisture motion moving occupancy opening plug power presence " +
		"problem running safety smoke sound tamper update vibration window"),
	hass.Button: {"identify", "restart", "update"},
	hass.Switch: {"outlet", "switch"},
	hass.Cover:  strings.Fields("awning blind curtain damper door garage gate shade shutter window"),
}

var vtWritable = []hass.Platform{hass.Switch, hass.Number, hass.Select, hass.Button, hass.Lock, hass.Climate, hass.Cover}

var vtGroups = []string{"charging", "climate", "lock", "unlock", "sentry", "trunk", "windows", "horn_lights",
	"wake", "remote_start"}

var vtSources = []fleet.Endpoint{fleet.ChargeState, fleet.ClimateState, fleet.DriveState, fleet.LocationData,
	fleet.VehicleState, fleet.VehicleConfig, fleet.GUISettings, SourceBridge}

func TestVehicleTableInvariants(t *testing.T) {
	if n := len(vehicleEntities); n < 60 {
		t.Errorf("%d car entities, want at least 60", n)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, e := range vehicleEntities {
		if !snake.MatchString(e.Key) || seen[e.Key] {
			t.Errorf("key %q: not snake_case or duplicate", e.Key)
		}
		seen[e.Key] = true
		if e.Name == "" {
			t.Errorf("%s: no name", e.Key)
		}
		if !slices.Contains(vtSources, e.Source) {
			t.Errorf("%s: source %q is not a known endpoint", e.Key, e.Source)
		}
		if (e.Source == fleet.DriveState || e.Source == fleet.LocationData) && e.Scope != fleet.ScopeVehicleLocation {
			t.Errorf("%s: drive_state rows need scope vehicle_location, have %q", e.Key, e.Scope)
		}
		writable := slices.Contains(vtWritable, e.Platform)
		if writable != (e.Command != nil) {
			t.Errorf("%s: platform %s but command set = %v", e.Key, e.Platform, e.Command != nil)
		}
		if writable && e.Platform != hass.Button && e.Value == nil {
			t.Errorf("%s: writable %s without a state", e.Key, e.Platform)
		}
		if e.Command != nil {
			if !slices.Contains(vtGroups, e.Group) {
				t.Errorf("%s: group %q unknown", e.Key, e.Group)
			}
			if !slices.Contains(e.CommandScopes, fleet.ScopeVehicleCmds) {
				t.Errorf("%s: command scopes %v lack vehicle_cmds", e.Key, e.CommandScopes)
			}
			if e.Group == "charging" && !slices.Contains(e.CommandScopes, fleet.ScopeVehicleChargingCmds) {
				t.Errorf("%s: charging command without vehicle_charging_cmds", e.Key)
			}
		}
		if e.Platform == hass.Number && (e.Number == nil || e.Number.Min >= e.Number.Max || e.Number.Step <= 0) {
			t.Errorf("%s: number spec %+v", e.Key, e.Number)
		}
		if (e.Platform == hass.Select || e.DeviceClass == hass.DCEnum) != (len(e.Options) > 0) {
			t.Errorf("%s: options %v on %s/%s", e.Key, e.Options, e.Platform, e.DeviceClass)
		}
		if e.Category == hass.CategoryConfig && (e.Platform == hass.Sensor || e.Platform == hass.BinarySensor) {
			t.Errorf("%s: HA refuses entity_category config on %s", e.Key, e.Platform)
		}
		vtCheckClass(t, e.Meta)
	}
}

// vtCheckClass checks device class, unit (native and both conversions) and
// state class against HA's rules.
func vtCheckClass(t *testing.T, e Meta) {
	t.Helper()
	switch e.Platform {
	case hass.Sensor, hass.Number:
		if e.DeviceClass == hass.DCNone {
			if e.StateClass != "" && e.Unit == "" && e.Platform == hass.Sensor {
				t.Errorf("%s: state class without unit or class", e.Key)
			}
			return
		}
		units, known := vtUnits[e.DeviceClass]
		if !known {
			t.Errorf("%s: device class %q not in the allowed-units table", e.Key, e.DeviceClass)
			return
		}
		for _, sys := range []string{UnitsNative, UnitsMetric, UnitsImperial} {
			if u := UnitFor(e.Quantity, sys, e.Unit); !slices.Contains(units, u) {
				t.Errorf("%s: unit %q (%s) not allowed for %s", e.Key, u, sys, e.DeviceClass)
			}
		}
		if e.Platform == hass.Sensor && e.StateClass != "" &&
			!slices.Contains(vtStateClasses[e.DeviceClass], e.StateClass) {
			t.Errorf("%s: state class %s impossible for %s", e.Key, e.StateClass, e.DeviceClass)
		}
	default:
		if e.DeviceClass != hass.DCNone && !slices.Contains(vtPlatformClasses[e.Platform], string(e.DeviceClass)) {
			t.Errorf("%s: device class %q invalid for %s", e.Key, e.DeviceClass, e.Platform)
		}
	}
}

// Every row shows a value of the type its platform expects once the car
// answered, and nothing (not a made-up zero) before it did.
func TestVehicleTableValues(t *testing.T) {
	full, empty := vtView(t), &VehicleView{}
	for _, e := range vehicleEntities {
		if e.Value == nil {
			continue
		}
		if got := present(e.Value(empty)); got != nil && e.Key != "location" {
			t.Errorf("%s = %#v for a car never read, want null", e.Key, got)
		}
		v := present(e.Value(full))
		if v == nil {
			t.Errorf("%s: no value from a full vehicle_data", e.Key)
			continue
		}
		switch {
		case len(e.Options) > 0:
			if s, isStr := v.(string); !isStr || !slices.Contains(e.Options, s) {
				t.Errorf("%s = %#v, not one of %v", e.Key, v, e.Options)
			}
		case e.DeviceClass == hass.DCTimestamp:
			if _, err := time.Parse(time.RFC3339, v.(string)); err != nil || !strings.HasSuffix(v.(string), "Z") {
				t.Errorf("%s = %v, want RFC 3339 UTC", e.Key, v)
			}
		case e.Platform == hass.BinarySensor, e.Platform == hass.Switch, e.Platform == hass.Lock,
			e.Platform == hass.Cover, e.Platform == hass.DeviceTracker:
			if _, isBool := v.(bool); !isBool {
				t.Errorf("%s = %#v, want a bool", e.Key, v)
			}
		case e.Platform == hass.Number, e.Unit != "", e.StateClass != "":
			if _, isNum := v.(float64); !isNum {
				t.Errorf("%s = %#v, want a number", e.Key, v)
			}
		}
	}
}

// Spot checks of the conversions users see.
func TestVehicleTableReadings(t *testing.T) {
	v := vtView(t)
	want := map[string]any{
		"charging": true, "charge_cable": true, "door_front_right": true, "door_front_left": false,
		"window_rear_left": true, "trunk": true, "frunk": false, "shift_state": "P", "speed": 0.0,
		"seat_heater_left": "high", "seat_heater_rear_right": "medium", "climate_keeper_mode": "dog",
		"cabin_overheat_protection": "fan_only", "max_defrost": false, "software_version": "2026.32.5",
		"software_update_available": true, "software_update_version": "2026.38.1",
		"last_seen": "2026-06-15T08:00:00Z", "scheduled_charging_start_time": "2024-07-03T08:00:00Z",
		"command_signing": "allowed", "route_destination": "Home",
	}
	for _, e := range vehicleEntities {
		if w, has := want[e.Key]; has {
			if got := present(e.Value(v)); got != w {
				t.Errorf("%s = %#v, want %#v", e.Key, got, w)
			}
			delete(want, e.Key)
		}
	}
	for k := range want {
		t.Errorf("no row %s", k)
	}
	climate := vtRow(t, "climate").Value(v).(map[string]any)
	if climate["mode"] != "heat_cool" || climate["current_temperature"] != 21.5 || climate["target_temperature"] != 21.0 {
		t.Errorf("climate = %v", climate)
	}
	// Unplugged and no update: the string placeholders Tesla sends are "no".
	v.Data.Charge.ConnChargeCable = Ptr("<invalid>")
	v.Data.Vehicle.SoftwareUpdate = &fleet.SoftwareUpdate{Status: Ptr(""), Version: Ptr(" ")}
	for key, w := range map[string]any{"charge_cable": false, "software_update_available": false,
		"software_update_version": nil} {
		if got := present(vtRow(t, key).Value(v)); got != w {
			t.Errorf("%s = %#v, want %#v", key, got, w)
		}
	}
}

func vtRow(t *testing.T, key string) Entity[*VehicleView] {
	t.Helper()
	for _, e := range vehicleEntities {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("no row %s", key)
	return Entity[*VehicleView]{}
}

// The climate, cover and lock entities need platform keys the generic
// discovery code does not set; HA must get working topics for them.
func TestVehicleSpecialDiscovery(t *testing.T) {
	tp := Topics{State: "t2m/car", Set: "t2m/car/set"}
	c := hass.Component{StateTopic: tp.State, ValueTemplate: "x", CommandTopic: tp.SetTopic("climate")}
	vtRow(t, "climate").Configure(&c, tp)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k, w := range map[string]any{
		"mode_command_topic": "t2m/car/set/climate", "temperature_command_topic": "t2m/car/set/driver_temp",
		"current_temperature_topic": "t2m/car", "temperature_unit": "C", "min_temp": 15.0, "max_temp": 28.0,
		"temp_step": 0.5,
	} {
		if m[k] != w {
			t.Errorf("climate %s = %v, want %v", k, m[k], w)
		}
	}
	for _, k := range []string{"state_topic", "command_topic", "value_template"} {
		if _, has := m[k]; has {
			t.Errorf("climate has %s, which HA would apply to every climate topic", k)
		}
	}
	if modes := m["modes"].([]any); len(modes) != 2 || modes[0] != "off" || modes[1] != "heat_cool" {
		t.Errorf("modes = %v", modes)
	}

	var cover hass.Component
	vtRow(t, "charge_port_door").Configure(&cover, tp)
	raw, _ = json.Marshal(cover)
	if !strings.Contains(string(raw), `"payload_stop":null`) || cover.StateOpen != "True" || cover.PayloadOpen != "OPEN" {
		t.Errorf("cover = %s", raw)
	}
}
