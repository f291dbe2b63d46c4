package entity

import (
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Accessors and row builders of the car table (vehicle_entities.go), so the
// table itself reads as data.

// orEmpty returns an empty block for a missing one, so table rows stay
// one-liners: every field of an empty block is absent.
func orEmpty[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// The car's vehicle_data blocks, empty when the car has not sent them.
func charge(v *VehicleView) *fleet.ChargeStateData   { return orEmpty(viewData(v).Charge) }
func climate(v *VehicleView) *fleet.ClimateStateData { return orEmpty(viewData(v).Climate) }
func drive(v *VehicleView) *fleet.DriveStateData     { return orEmpty(viewData(v).Drive) }
func vstate(v *VehicleView) *fleet.VehicleStateData  { return orEmpty(viewData(v).Vehicle) }

// viewData is the view's data, or none for a nil view.
func viewData(v *VehicleView) *fleet.VehicleData {
	if v == nil {
		return &fleet.VehicleData{}
	}
	return &v.Data
}

func swUpdate(v *VehicleView) *fleet.SoftwareUpdate { return orEmpty(vstate(v).SoftwareUpdate) }

// vNonZero turns Tesla's 0/1 (doors, trunks) and 0/1/2 (windows) into
// closed/open; absent stays absent.
func vNonZero(p *float64) any {
	if p == nil {
		return nil
	}
	return *p != 0
}

// vEpoch renders Unix seconds as the RFC 3339 UTC time HA timestamp sensors need.
func vEpoch(p *float64) any {
	if p == nil || *p <= 0 {
		return nil
	}
	return time.Unix(int64(*p), 0).UTC().Format(time.RFC3339)
}

// vTrimmed is a string with Tesla's blank placeholders (" ", "") as absent.
func vTrimmed(p *string) any {
	if p == nil || strings.TrimSpace(*p) == "" {
		return nil
	}
	return strings.TrimSpace(*p)
}

// Instantiated adapters, so the rows below read as data.
var (
	vOnOff      = onOff[*VehicleView]
	vOnOffParam = onOffParam[*VehicleView]
	vPress      = press[*VehicleView]
	vChoice     = choice[*VehicleView]
	vFixed      = fixed[*VehicleView]
)

// Command scopes (FLEET_API §3.3): charging commands are listed under both.
var (
	vCmdScopes    = []string{fleet.ScopeVehicleCmds}
	vChargeScopes = []string{fleet.ScopeVehicleChargingCmds, fleet.ScopeVehicleCmds}
	vLocScope     = fleet.ScopeVehicleLocation
)

// Car temperature settings (°C) as the car accepts them.
const (
	vTempMin  = 15
	vTempMax  = 28
	vTempStep = 0.5
	// vAmpsFallback is the charge current maximum when the car has not
	// reported charge_current_request_max (and the discovered slider max).
	vAmpsFallback = 48
)

// vAmpsMax is the car's own charge current maximum.
func vAmpsMax(v *VehicleView) float64 {
	if m := charge(v).ChargeCurrentRequestMax; m != nil && *m > 0 {
		return *m
	}
	return vAmpsFallback
}

// vSetTemps: set/driver_temp is the climate entity's target and sets both
// seats (the car's default "sync", and what HA's own Tesla integration does);
// set/passenger_temp changes the passenger seat only and keeps the driver's
// current setting (or uses the new value for both while that is unknown).
func vSetTemps(driver bool) CommandFunc[*VehicleView] {
	param := "passenger_temp"
	if driver {
		param = "driver_temp"
	}
	return numParam(setTemps, param, vFixed(vTempMin), vFixed(vTempMax), false,
		func(v *VehicleView, t float64) map[string]any {
			if driver {
				return map[string]any{"passenger_temp": t}
			}
			d := t
			if cur := climate(v).DriverTempSetting; cur != nil {
				d = *cur
			}
			return map[string]any{"driver_temp": d}
		})
}

const setTemps = "set_temps"

var vHeaterLevels = []string{"off", "low", "medium", "high"}

// vSeatHeater is a seat heater select for one seat_position (FLEET_API §3.3).
func vSeatHeater(key, name string, position int, get func(*fleet.ClimateStateData) *float64) Entity[*VehicleView] {
	opts := make([]Choice, len(vHeaterLevels))
	for i, o := range vHeaterLevels {
		opts[i] = Choice{Option: o, Params: map[string]any{"level": i}}
	}
	return Entity[*VehicleView]{Meta: Meta{Key: key, Platform: hass.Select, Name: name,
		Icon: "mdi:car-seat-heater", Options: choiceOptions(opts), Source: fleet.ClimateState,
		Group: "climate", CommandScopes: vCmdScopes},
		Command: vChoice("remote_seat_heater_request", map[string]any{"seat_position": position}, opts),
		Value: func(v *VehicleView) any {
			l := get(climate(v))
			if l == nil || *l < 0 || int(*l) >= len(vHeaterLevels) {
				return nil
			}
			return vHeaterLevels[int(*l)]
		}}
}

var vKeeperChoices = []Choice{
	{"off", map[string]any{"climate_keeper_mode": 0}},
	{"keep", map[string]any{"climate_keeper_mode": 1}},
	{"dog", map[string]any{"climate_keeper_mode": 2}},
	{"camp", map[string]any{"climate_keeper_mode": 3}},
}

var vCOPChoices = []Choice{
	{"off", map[string]any{"on": false, "fan_only": false}},
	{"on", map[string]any{"on": true, "fan_only": false}},
	{"fan_only", map[string]any{"on": true, "fan_only": true}},
}

// vDoor and vWindow are the closure binary sensors (vehicle_state).
func vDoor(key, name string, get func(*fleet.VehicleStateData) *float64) Entity[*VehicleView] {
	return vClosure(key, name, hass.DCDoor, get)
}

func vWindow(key, name string, get func(*fleet.VehicleStateData) *float64) Entity[*VehicleView] {
	return vClosure(key, name, hass.DCWindow, get)
}

func vClosure(key, name string, dc hass.DeviceClass, get func(*fleet.VehicleStateData) *float64) Entity[*VehicleView] {
	return Entity[*VehicleView]{Meta: Meta{Key: key, Platform: hass.BinarySensor, Name: name,
		DeviceClass: dc, Source: fleet.VehicleState},
		Value: func(v *VehicleView) any { return vNonZero(get(vstate(v))) }}
}

// vTyre is a tyre pressure sensor (bar from the API).
func vTyre(key, name string, get func(*fleet.VehicleStateData) *float64) Entity[*VehicleView] {
	return Entity[*VehicleView]{Meta: Meta{Key: key, Platform: hass.Sensor, Name: name,
		DeviceClass: hass.DCPressure, StateClass: hass.Measurement, Unit: "bar", Quantity: QPressureBar,
		Precision: Ptr(1), Icon: "mdi:tire", Source: fleet.VehicleState},
		Value: func(v *VehicleView) any { return get(vstate(v)) }}
}

// vWindowParams is window_control's position: the car's own (close needs
// the user near the car on S/X; the car is where it is), 0/0 when unknown.
func vWindowParams(command string) func(*VehicleView) map[string]any {
	return func(v *VehicleView) map[string]any {
		lat, lon := 0.0, 0.0
		if d := drive(v); d.Latitude != nil && d.Longitude != nil {
			lat, lon = *d.Latitude, *d.Longitude
		}
		return map[string]any{"command": command, "lat": lat, "lon": lon}
	}
}

// vClimateTpl renders one field of the climate key, or nothing while the
// car's climate is unknown (HA ignores empty climate payloads).
func vClimateTpl(field string) string {
	return "{{ value_json.climate." + field + " if value_json.climate else '' }}"
}

// vClimateConfigure makes the climate entity: mode on set/climate, target
// temperature on set/driver_temp, all read from the "climate" key, whose
// temperatures stay in °C whatever the unit system (temperature_unit C;
// HA converts for display).
func vClimateConfigure(c *hass.Component, t Topics) {
	c.StateTopic, c.ValueTemplate, c.CommandTopic = "", "", ""
	c.Climate = &hass.ClimateOptions{
		Modes:                      []string{"off", "heat_cool"},
		ModeCommandTopic:           t.SetTopic("climate"),
		ModeStateTopic:             t.State,
		ModeStateTemplate:          vClimateTpl("mode"),
		TemperatureCommandTopic:    t.SetTopic("driver_temp"),
		TemperatureStateTopic:      t.State,
		TemperatureStateTemplate:   vClimateTpl("target_temperature"),
		CurrentTemperatureTopic:    t.State,
		CurrentTemperatureTemplate: vClimateTpl("current_temperature"),
		MinTemp:                    Ptr(float64(vTempMin)),
		MaxTemp:                    Ptr(float64(vTempMax)),
		TempStep:                   Ptr(vTempStep),
		TemperatureUnit:            "C",
	}
}

// vClimateValue is the climate entity's state: mode plus native °C
// temperatures in one object, so unit conversion of the top-level
// temperature keys never confuses the entity.
func vClimateValue(v *VehicleView) any {
	c := climate(v)
	if c.IsClimateOn == nil {
		return nil
	}
	mode := "off"
	if *c.IsClimateOn {
		mode = "heat_cool"
	}
	return map[string]any{
		"mode":                mode,
		"current_temperature": present(c.InsideTemp),
		"target_temperature":  present(c.DriverTempSetting),
	}
}

// vDriveKnown reports whether drive_state arrived (shift and speed are null
// while parked, which is not the same as unknown).
func vDriveKnown(v *VehicleView) bool { return v != nil && v.Data.Drive != nil }

// vChargePortConfigure makes the charge port door a cover HA can open and
// close.
func vChargePortConfigure(c *hass.Component, _ Topics) {
	c.PayloadOpen, c.PayloadClose = "OPEN", "CLOSE"
	c.StateOpen, c.StateClosed = "True", "False"
	// The door cannot stop half-way: no stop button.
	c.Extra = map[string]any{"payload_stop": nil}
}

// vLockGroup puts door_unlock in a group of its own, so a config can allow
// locking but deny unlocking.
func vLockGroup(c fleet.Command) string {
	if c.Name == "door_unlock" {
		return "unlock"
	}
	return "lock"
}
