package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Telemetry is the Fleet Telemetry side of a table row: the signal (a name
// of protos/vehicle_data.proto's Field enum) and how one received value
// lands in the device's data. Values land in the same blocks vehicle_data
// fills, so every row reading them (the climate entity, the charging
// switch, the economy policy's driving/charging test) sees streamed values
// without a second code path.
type Telemetry[D any] struct {
	Field string
	// Apply writes v into d; false means the value could not be read (the
	// field keeps its last value).
	Apply func(d D, v TelemetryValue) bool
}

// telemetryBinding is Telemetry closed over one device's view.
type telemetryBinding struct {
	field string
	apply func(TelemetryValue) bool
}

func (t Telemetry[D]) bind(view func() D) telemetryBinding {
	if t.Field == "" || t.Apply == nil {
		return telemetryBinding{}
	}
	return telemetryBinding{field: t.Field, apply: func(v TelemetryValue) bool { return t.Apply(view(), v) }}
}

// TelemetryValue is one received value as the dispatcher's JSON carries it.
// Its accessors absorb the type drift Tesla warns of (a number may arrive as
// "12.3", a bool as "true"), so rows never see it.
type TelemetryValue struct{ raw any }

// decodeTelemetryValue reads a v/<Field> payload: the bare JSON value (the
// dispatcher's README), {"value": x} (its code since 2025), or a typed
// wrapper {"doubleValue": x} as other dispatchers emit it.
func decodeTelemetryValue(payload []byte) (TelemetryValue, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return TelemetryValue{}, err
	}
	if m, ok := raw.(map[string]any); ok && len(m) == 1 {
		for k, v := range m {
			switch {
			case k == "value", strings.HasSuffix(k, "Value"):
				raw = v
			case k == "invalid":
				raw = nil
			}
		}
	}
	return TelemetryValue{raw: raw}, nil
}

// Invalid reports a value the car marks as unavailable ("<invalid>", null).
func (t TelemetryValue) Invalid() bool {
	if t.raw == nil {
		return true
	}
	s, ok := t.raw.(string)
	return ok && strings.EqualFold(strings.TrimSpace(s), "<invalid>")
}

// Float reads a number, also from a numeric string. NaN and ±Inf (which
// ParseFloat takes from the strings "NaN" and "Inf") are unreadable: JSON
// cannot carry them, so one would stop every state publish of the car.
func (t TelemetryValue) Float() (float64, bool) {
	var f float64
	var err error
	switch x := t.raw.(type) {
	case json.Number:
		f, err = x.Float64()
	case float64:
		f = x
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		return 0, false
	}
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// Bool reads a bool, also from "true"/"false" or 0/1.
func (t TelemetryValue) Bool() (bool, bool) {
	switch x := t.raw.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	if f, ok := t.Float(); ok && (f == 0 || f == 1) {
		return f == 1, true
	}
	return false, false
}

// String reads a string; a number is formatted.
func (t TelemetryValue) String() (string, bool) {
	switch x := t.raw.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// Object reads a JSON object (Location, DoorState).
func (t TelemetryValue) Object() (map[string]any, bool) {
	m, ok := t.raw.(map[string]any)
	return m, ok
}

// tvConv turns a received value into the view's value: a float64, bool or
// string, or nil to clear the field; ok=false for an unreadable value.
type tvConv func(TelemetryValue) (v any, ok bool)

// tvEnum strips the proto enum prefix ("DetailedChargeStateCharging" →
// "Charging") and renames through names when given. Unknown, SNA and
// Invalid clear the field.
func tvEnum(prefix string, names map[string]string) tvConv {
	return func(t TelemetryValue) (any, bool) {
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
			return n, true
		}
		return s, true
	}
}

// tvSentry: SentryMode is a bool on older firmware and SentryModeState
// (Off, Idle, Armed, Aware, Panic, Quiet) since 2024.44; anything but Off
// means sentry is on, as the app shows it.
func tvSentry(t TelemetryValue) (any, bool) {
	if b, ok := t.Bool(); ok {
		return b, true
	}
	s, ok := tvEnum("SentryModeState", nil)(t)
	if !ok || s == nil {
		return s, ok
	}
	return s != "Off", true
}

// tvWindow: WindowState Closed/PartiallyOpen/Opened as vehicle_data's
// 0/1/2; a number passes, a bool is closed or open.
func tvWindow(t TelemetryValue) (any, bool) {
	if f, ok := t.Float(); ok {
		return f, true
	}
	if b, ok := t.Bool(); ok {
		if b {
			return 2.0, true
		}
		return 0.0, true
	}
	s, ok := tvEnum("WindowState", nil)(t)
	if !ok || s == nil {
		return s, ok
	}
	f, ok := vWindowStates[s.(string)]
	return f, ok
}

var vWindowStates = map[string]float64{"Closed": 0, "PartiallyOpen": 1, "Opened": 2}

// vtBlocks are the vehicle_data blocks a streamed value may land in, by
// their JSON name, with a getter that makes the block writable (a copy, so
// a block shared with a poll result is never changed under it).
var vtBlocks = map[string]func(v *VehicleView) reflect.Value{
	"charge_state": func(v *VehicleView) reflect.Value {
		c := fleet.ChargeStateData{}
		if v.Data.Charge != nil {
			c = *v.Data.Charge
		}
		v.Data.Charge = &c
		return reflect.ValueOf(&c).Elem()
	},
	"climate_state": func(v *VehicleView) reflect.Value {
		c := fleet.ClimateStateData{}
		if v.Data.Climate != nil {
			c = *v.Data.Climate
		}
		v.Data.Climate = &c
		return reflect.ValueOf(&c).Elem()
	},
	"drive_state": func(v *VehicleView) reflect.Value {
		c := fleet.DriveStateData{}
		if v.Data.Drive != nil {
			c = *v.Data.Drive
		}
		v.Data.Drive = &c
		return reflect.ValueOf(&c).Elem()
	},
	"vehicle_state": func(v *VehicleView) reflect.Value {
		c := fleet.VehicleStateData{}
		if v.Data.Vehicle != nil {
			c = *v.Data.Vehicle
		}
		v.Data.Vehicle = &c
		return reflect.ValueOf(&c).Elem()
	},
}

var vtBlockTypes = map[string]reflect.Type{
	"charge_state": reflect.TypeFor[fleet.ChargeStateData](), "climate_state": reflect.TypeFor[fleet.ClimateStateData](),
	"drive_state": reflect.TypeFor[fleet.DriveStateData](), "vehicle_state": reflect.TypeFor[fleet.VehicleStateData](),
}

// vtFieldIndex finds the struct field of block/json_name; a typo in the
// table panics at start-up, which every test run catches.
func vtFieldIndex(path string) (block string, index int, kind reflect.Kind) {
	block, name, _ := strings.Cut(path, ".")
	t, ok := vtBlockTypes[block]
	if !ok {
		panic(fmt.Sprintf("telemetry path %q: unknown block", path))
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name && f.Type.Kind() == reflect.Pointer {
			return block, i, f.Type.Elem().Kind()
		}
	}
	panic(fmt.Sprintf("telemetry path %q: no such pointer field", path))
}

// vt feeds the vehicle_data field at path ("charge_state.battery_level")
// from a signal whose value is in the field's own unit. Without conv the
// field's type picks the reading (number, bool, string), drift included.
func vt(field, path string, conv ...tvConv) Telemetry[*VehicleView] {
	block, index, kind := vtFieldIndex(path)
	c := vtDefaultConv(kind)
	if len(conv) > 0 {
		c = conv[0]
	}
	return Telemetry[*VehicleView]{Field: field, Apply: func(v *VehicleView, t TelemetryValue) bool {
		x, ok := c(t)
		if !ok && t.Invalid() {
			x, ok = nil, true
		}
		if !ok {
			return false
		}
		f := vtBlocks[block](v).Field(index)
		if x == nil {
			f.SetZero()
			return true
		}
		p := reflect.New(f.Type().Elem())
		xv := reflect.ValueOf(x)
		if !xv.Type().ConvertibleTo(p.Elem().Type()) || xv.Kind() != kind && !(xv.CanFloat() && p.Elem().CanFloat()) {
			return false
		}
		p.Elem().Set(xv.Convert(p.Elem().Type()))
		f.Set(p)
		return true
	}}
}

func vtDefaultConv(kind reflect.Kind) tvConv {
	switch kind {
	case reflect.Float64:
		return func(t TelemetryValue) (any, bool) { f, ok := t.Float(); return f, ok }
	case reflect.Bool:
		return func(t TelemetryValue) (any, bool) { b, ok := t.Bool(); return b, ok }
	default:
		return func(t TelemetryValue) (any, bool) { s, ok := t.String(); return s, ok }
	}
}

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
	d := vtBlocks["drive_state"](v).Addr().Interface().(*fleet.DriveStateData)
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
	s := vtBlocks["vehicle_state"](v).Addr().Interface().(*fleet.VehicleStateData)
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
	vtChargeState = tvEnum("DetailedChargeState", nil)
	vtGear        = tvEnum("ShiftState", map[string]string{"P": "P", "R": "R", "N": "N", "D": "D"})
	vtLatch       = tvEnum("ChargePortLatch", nil)
	vtSchedMode   = tvEnum("ScheduledChargingMode", nil)
	// ClimateKeeperModeState Party is the app's Camp mode; "on" is what the
	// keeper row already reads as keep.
	vtKeeper = tvEnum("ClimateKeeperModeState", map[string]string{"Off": "off", "On": "on", "Dog": "dog", "Party": "camp"})
	vtCOP    = tvEnum("CabinOverheatProtectionModeState", map[string]string{"Off": "Off", "On": "On", "FanOnly": "FanOnly"})
)
