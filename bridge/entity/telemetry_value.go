package entity

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
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

// TelemetryValue is one received value as the dispatcher's JSON carries it.
// Its accessors absorb the type drift Tesla warns of (a number may arrive as
// "12.3", a bool as "true"), so rows never see it.
type TelemetryValue struct{ raw any }

// DecodeTelemetryValue reads a v/<Field> payload: the bare JSON value (the
// dispatcher's README), {"value": x} (its code since 2025), or a typed
// wrapper {"doubleValue": x} as other dispatchers emit it.
func DecodeTelemetryValue(payload []byte) (TelemetryValue, error) {
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
