package entity

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// adCase is one payload sent to one row: the bare set/<key> string or a
// JSON-decoded value, and the exact command or error that must come out.
type adCase struct {
	key     string
	payload any
	name    string         // expected command name; "" = expect an error
	params  map[string]any // expected parameters (nil = {})
	errHas  string         // substring of the error message
	view    func(*VehicleView)
}

type adP = map[string]any

func adSeat(key string, pos int) []adCase {
	return []adCase{
		{key: key, payload: "high", name: "remote_seat_heater_request", params: adP{"seat_position": pos, "level": 3}},
		{key: key, payload: "OFF", name: "remote_seat_heater_request", params: adP{"seat_position": pos, "level": 0}},
		{key: key, payload: "Low", name: "remote_seat_heater_request", params: adP{"seat_position": pos, "level": 1}},
		{key: key, payload: "medium", name: "remote_seat_heater_request", params: adP{"seat_position": pos, "level": 2}},
		{key: key, payload: "warm", errHas: key + ` must be one of off, low, medium, high, got "warm"`},
		{key: key, payload: 2.0, errHas: "got 2"},
	}
}

func adCases() []adCase {
	noDrive := func(v *VehicleView) { v.Data.Drive = nil }
	cs := []adCase{
		// Charging.
		{key: "charging", payload: "ON", name: "charge_start"},
		{key: "charging", payload: "off", name: "charge_stop"},
		{key: "charging", payload: true, name: "charge_start"},
		{key: "charging", payload: false, name: "charge_stop"},
		{key: "charging", payload: "1", name: "charge_start"},
		{key: "charging", payload: 0.0, name: "charge_stop"},
		{key: "charging", payload: "maybe", errHas: `charging must be ON or OFF, got "maybe"`},
		{key: "charging", payload: 2.0, errHas: "charging must be ON or OFF, got 2"},
		{key: "charge_limit", payload: "80", name: "set_charge_limit", params: adP{"percent": 80}},
		{key: "charge_limit", payload: 80.0, name: "set_charge_limit", params: adP{"percent": 80}},
		{key: "charge_limit", payload: " 100.0 ", name: "set_charge_limit", params: adP{"percent": 100}},
		{key: "charge_limit", payload: "50", name: "set_charge_limit", params: adP{"percent": 50}},
		{key: "charge_limit", payload: "120", errHas: "charge_limit must be a whole number from 50 to 100, got 120"},
		{key: "charge_limit", payload: 120.0, errHas: "charge_limit must be a whole number from 50 to 100, got 120"},
		{key: "charge_limit", payload: "49.5", errHas: "got 49.5"},
		{key: "charge_limit", payload: 79.5, errHas: "got 79.5"},
		{key: "charge_limit", payload: "eighty", errHas: `got "eighty"`},
		{key: "charge_limit", payload: "NaN", errHas: `got "NaN"`},
		{key: "charge_limit", payload: true, errHas: "got true"},
		{key: "charge_limit", payload: nil, errHas: "got null"},
		{key: "charge_current", payload: "16", name: "set_charging_amps", params: adP{"charging_amps": 16}},
		{key: "charge_current", payload: 32.0, name: "set_charging_amps", params: adP{"charging_amps": 32}},
		{key: "charge_current", payload: "33", errHas: "charge_current must be a whole number from 1 to 32, got 33"},
		{key: "charge_current", payload: "0", errHas: "from 1 to 32, got 0"},
		{key: "charge_current", payload: "16.5", errHas: "got 16.5"},
		// Before the car reported its maximum, 48 A is the limit.
		{key: "charge_current", payload: "40", name: "set_charging_amps", params: adP{"charging_amps": 40},
			view: func(v *VehicleView) { v.Data.Charge = nil }},
		{key: "charge_current", payload: "49", errHas: "from 1 to 48",
			view: func(v *VehicleView) { v.Data.Charge = nil }},
		{key: "charge_port_door", payload: "OPEN", name: "charge_port_door_open"},
		{key: "charge_port_door", payload: "close", name: "charge_port_door_close"},
		{key: "charge_port_door", payload: true, name: "charge_port_door_open"},
		{key: "charge_port_door", payload: "OFF", name: "charge_port_door_close"},
		{key: "charge_port_door", payload: "STOP", errHas: `charge_port_door must be OPEN or CLOSE, got "STOP"`},

		// Climate.
		{key: "climate", payload: "heat_cool", name: "auto_conditioning_start"},
		{key: "climate", payload: "off", name: "auto_conditioning_stop"},
		{key: "climate", payload: "ON", name: "auto_conditioning_start"},
		{key: "climate", payload: false, name: "auto_conditioning_stop"},
		{key: "climate", payload: "cool", errHas: `climate must be heat_cool or off, got "cool"`},
		{key: "driver_temp", payload: "22.5", name: "set_temps", params: adP{"driver_temp": 22.5, "passenger_temp": 22.5}},
		{key: "driver_temp", payload: 15.0, name: "set_temps", params: adP{"driver_temp": 15.0, "passenger_temp": 15.0}},
		{key: "driver_temp", payload: "28.5", errHas: "driver_temp must be a number from 15 to 28, got 28.5"},
		{key: "driver_temp", payload: "warm", errHas: `got "warm"`},
		{key: "passenger_temp", payload: "19", name: "set_temps", params: adP{"driver_temp": 21.0, "passenger_temp": 19.0}},
		{key: "passenger_temp", payload: 19.5, name: "set_temps", params: adP{"driver_temp": 19.5, "passenger_temp": 19.5},
			view: func(v *VehicleView) { v.Data.Climate = nil }},
		{key: "passenger_temp", payload: "14", errHas: "from 15 to 28, got 14"},
		{key: "max_defrost", payload: "ON", name: "set_preconditioning_max", params: adP{"on": true, "manual_override": true}},
		{key: "max_defrost", payload: false, name: "set_preconditioning_max", params: adP{"on": false, "manual_override": true}},
		{key: "max_defrost", payload: "PRESS", errHas: "max_defrost must be ON or OFF"},
		{key: "steering_wheel_heater", payload: "on", name: "remote_steering_wheel_heater_request", params: adP{"on": true}},
		{key: "steering_wheel_heater", payload: "FALSE", name: "remote_steering_wheel_heater_request", params: adP{"on": false}},
		{key: "climate_keeper_mode", payload: "dog", name: "set_climate_keeper_mode",
			params: adP{"climate_keeper_mode": 2, "manual_override": true}},
		{key: "climate_keeper_mode", payload: "Camp", name: "set_climate_keeper_mode",
			params: adP{"climate_keeper_mode": 3, "manual_override": true}},
		{key: "climate_keeper_mode", payload: "off", name: "set_climate_keeper_mode",
			params: adP{"climate_keeper_mode": 0, "manual_override": true}},
		{key: "climate_keeper_mode", payload: "keep", name: "set_climate_keeper_mode",
			params: adP{"climate_keeper_mode": 1, "manual_override": true}},
		{key: "climate_keeper_mode", payload: "party", errHas: `must be one of off, keep, dog, camp, got "party"`},
		{key: "cabin_overheat_protection", payload: "fan_only", name: "set_cabin_overheat_protection",
			params: adP{"on": true, "fan_only": true}},
		{key: "cabin_overheat_protection", payload: "on", name: "set_cabin_overheat_protection",
			params: adP{"on": true, "fan_only": false}},
		{key: "cabin_overheat_protection", payload: "OFF", name: "set_cabin_overheat_protection",
			params: adP{"on": false, "fan_only": false}},
		{key: "cabin_overheat_protection", payload: true, errHas: "got true"},

		// Security and body.
		{key: "locked", payload: "LOCK", name: "door_lock"},
		{key: "locked", payload: "UNLOCK", name: "door_unlock"},
		{key: "locked", payload: true, name: "door_lock"},
		{key: "locked", payload: false, name: "door_unlock"},
		{key: "locked", payload: "ON", errHas: `locked must be LOCK or UNLOCK, got "ON"`},
		{key: "sentry_mode", payload: "ON", name: "set_sentry_mode", params: adP{"on": true}},
		{key: "sentry_mode", payload: false, name: "set_sentry_mode", params: adP{"on": false}},
		{key: "sentry_mode", payload: "yes please", errHas: "sentry_mode must be ON or OFF"},
		{key: "open_frunk", payload: "PRESS", name: "actuate_trunk", params: adP{"which_trunk": "front"}},
		{key: "open_frunk", payload: true, name: "actuate_trunk", params: adP{"which_trunk": "front"}},
		{key: "open_frunk", payload: "OFF", errHas: `open_frunk must be PRESS, got "OFF"`},
		{key: "open_frunk", payload: false, errHas: "must be PRESS, got false"},
		{key: "open_trunk", payload: "press", name: "actuate_trunk", params: adP{"which_trunk": "rear"}},
		{key: "vent_windows", payload: "PRESS", name: "window_control",
			params: adP{"command": "vent", "lat": 52.39, "lon": 13.06}},
		{key: "close_windows", payload: "PRESS", name: "window_control",
			params: adP{"command": "close", "lat": 52.39, "lon": 13.06}},
		{key: "close_windows", payload: "PRESS", name: "window_control",
			params: adP{"command": "close", "lat": 0.0, "lon": 0.0}, view: noDrive},
		{key: "close_windows", payload: 1.0, errHas: "must be PRESS, got 1"},

		// Actions.
		{key: "wake_up", payload: "PRESS", name: "wake_up"},
		{key: "flash_lights", payload: "PRESS", name: "flash_lights"},
		{key: "honk_horn", payload: true, name: "honk_horn"},
		{key: "honk_horn", payload: "", errHas: `honk_horn must be PRESS, got ""`},
	}
	cs = append(cs, adSeat("seat_heater_left", 0)...)
	cs = append(cs, adSeat("seat_heater_right", 1)...)
	cs = append(cs, adSeat("seat_heater_rear_left", 2)...)
	cs = append(cs, adSeat("seat_heater_rear_center", 4)...)
	return append(cs, adSeat("seat_heater_rear_right", 5)...)
}

func TestVehicleCommandAdapters(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range adCases() {
		tested[c.key] = true
		v := vtView(t)
		if c.view != nil {
			c.view(v)
		}
		row := vtRow(t, c.key)
		cmd, err := row.Command(c.payload, v)
		if c.name == "" {
			var pe *PayloadError
			if !errors.As(err, &pe) || pe.Code != CodeInvalidPayload || !strings.Contains(pe.Message, c.errHas) {
				t.Errorf("%s %#v: got (%+v, %v), want invalid_payload containing %q", c.key, c.payload, cmd, err, c.errHas)
			}
			continue
		}
		want := fleet.Command{Name: c.name, Params: c.params}
		if want.Params == nil {
			want.Params = map[string]any{}
		}
		if err != nil || !reflect.DeepEqual(cmd, want) {
			t.Errorf("%s %#v = (%+v, %v), want %+v", c.key, c.payload, cmd, err, want)
		}
	}
	for _, e := range vehicleEntities {
		if e.Command != nil && !tested[e.Key] {
			t.Errorf("writable row %s has no adapter test case", e.Key)
		}
	}
}

// Every number row refuses one step beyond its discovered range and takes
// both ends; every select option is accepted. So HA's slider and the
// adapter agree.
func TestVehicleNumberAndSelectRanges(t *testing.T) {
	v := vtView(t)
	v.Data.Charge.ChargeCurrentRequestMax = Ptr(float64(vAmpsFallback))
	for _, e := range vehicleEntities {
		switch e.Platform {
		case hass.Number:
			n := e.Number
			for _, x := range []float64{n.Min, n.Max} {
				if _, err := e.Command(x, v); err != nil {
					t.Errorf("%s refuses %v within [%v, %v]: %v", e.Key, x, n.Min, n.Max, err)
				}
			}
			for _, x := range []float64{n.Min - n.Step, n.Max + n.Step} {
				if _, err := e.Command(x, v); err == nil {
					t.Errorf("%s accepts %v outside [%v, %v]", e.Key, x, n.Min, n.Max)
				}
			}
		case hass.Select:
			for _, o := range e.Options {
				if _, err := e.Command(o, v); err != nil {
					t.Errorf("%s refuses its own option %q: %v", e.Key, o, err)
				}
			}
		}
	}
}

// door_unlock is its own group, so a config can allow locking but deny unlocking.
func TestLockGroups(t *testing.T) {
	row := vtRow(t, "locked")
	for payload, group := range map[string]string{"LOCK": "lock", "UNLOCK": "unlock"} {
		c, err := row.Command(payload, vtView(t))
		if err != nil || row.GroupOf(c) != group {
			t.Errorf("%s: group %q (err %v), want %q", payload, row.GroupOf(c), err, group)
		}
	}
}

// Commands never share parameter maps with the table: a change to one
// command's params (the executor may add to them) does not leak into the next.
func TestAdapterParamsAreFresh(t *testing.T) {
	row := vtRow(t, "max_defrost")
	a, _ := row.Command("ON", vtView(t))
	a.Params["manual_override"] = false
	b, _ := row.Command("ON", vtView(t))
	if b.Params["manual_override"] != true {
		t.Fatal("params map shared between commands")
	}
}
