package entity

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzTelemetryDatum feeds one dispatcher payload (the body of
// <topic_base>/<VIN>/v/<Field>) through the decoder and every table row
// that the field feeds, on a car whose data is already filled, as
// ingestDatum does. Whatever the payload: no panic; the car's state still
// encodes in every unit system (a value JSON cannot carry, such as NaN from
// the string "NaN", would stop every later state publish of the car); and
// a datum no row could read leaves the state exactly as it was (the last
// good value stays). The committed corpus is in
// testdata/fuzz/FuzzTelemetryDatum; field picks a signal of TelemetryFields
// by index.
func FuzzTelemetryDatum(f *testing.F) {
	fields := TelemetryFields()
	idx := func(name string) uint8 {
		i := slices.Index(fields, name)
		if i < 0 {
			f.Fatalf("the table maps no signal %q", name)
		}
		return uint8(i)
	}
	for _, s := range []struct {
		field, payload string
	}{
		{"BatteryLevel", `71.5`}, {"BatteryLevel", `{"value":"12.3"}`}, {"BatteryLevel", `"NaN"`},
		{"BatteryLevel", `"<invalid>"`}, {"BatteryLevel", `null`}, {"BatteryLevel", `{"invalid":true}`},
		{"DetailedChargeState", `"DetailedChargeStateCharging"`}, {"DetailedChargeState", `{"stringValue":"DetailedChargeStateUnknown"}`},
		{"Gear", `"ShiftStateD"`}, {"Gear", `7`}, {"Locked", `true`}, {"Locked", `"false"`}, {"Locked", `1`},
		{"Location", `{"latitude":52.52,"longitude":13.4}`}, {"Location", `{"latitude":"x"}`},
		{"DoorState", `{"DriverFront":true,"TrunkRear":false}`}, {"DoorState", `[]`},
		{"VehicleSpeed", `1e309`}, {"VehicleSpeed", `"-Inf"`}, {"InsideTemp", `{"doubleValue":21.5}`},
		{"Odometer", `"  12345.6 "`}, {"SentryMode", `"SentryModeStateArmed"`}, {"Version", `"2025.14.3 abc"`},
		{"ChargeLimitSoc", `{"value":80,"extra":1}`}, {"ChargeLimitSoc", `80}`}, {"ChargeLimitSoc", "\xff"},
	} {
		f.Add(idx(s.field), []byte(s.payload))
	}
	// Every signal first gets a plausible value, so that "keeps the last
	// good value" is tested against something.
	fill := [][]byte{[]byte(`1`), []byte(`true`), []byte(`"1"`),
		[]byte(`{"latitude":52.5,"longitude":13.4}`), []byte(`{"DriverFront":true}`)}
	f.Fuzz(func(t *testing.T, field uint8, payload []byte) {
		vv := &VehicleView{VIN: "5YJ3E1EA7PF000001", State: "online"}
		rows := VehicleTable()
		apply := func(name string, p []byte) (applied, unreadable bool) {
			val, err := DecodeTelemetryValue(p)
			if err != nil {
				return false, false
			}
			for _, e := range rows {
				if e.Signal() != name {
					continue
				}
				if e.ApplySignal(vv, val) {
					applied = true
				} else {
					unreadable = true
				}
			}
			return applied, unreadable
		}
		state := func(units string) ([]byte, error) {
			m := map[string]any{}
			for _, e := range rows {
				if v, ok := e.StateValue(vv, units); ok {
					m[e.Key] = v
				}
			}
			return json.Marshal(m)
		}
		for _, name := range fields {
			for _, p := range fill {
				apply(name, p)
			}
		}
		before := map[string][]byte{}
		for _, units := range []string{UnitsNative, UnitsMetric, UnitsImperial} {
			js, err := state(units)
			if err != nil {
				t.Fatalf("state does not encode before the datum (%s): %v", units, err)
			}
			before[units] = js
		}
		name := fields[int(field)%len(fields)]
		applied, _ := apply(name, payload)
		for _, units := range []string{UnitsNative, UnitsMetric, UnitsImperial} {
			js, err := state(units)
			if err != nil {
				t.Fatalf("%s = %q: the car's state no longer encodes (%s): %v", name, payload, units, err)
			}
			if !applied && !bytes.Equal(js, before[units]) {
				t.Fatalf("%s = %q was not applied, yet the state changed:\n%s\n%s", name, payload, before[units], js)
			}
		}
	})
}
