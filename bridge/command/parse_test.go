package command

import (
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

func TestParseObjectPayload(t *testing.T) {
	tests := []struct {
		in      string
		items   []Item
		tr      any
		errCode string
	}{
		{in: `{"charge_limit": 80}`, items: []Item{{Key: "charge_limit", Value: 80.0}}},
		{in: `{"climate":"heat_cool","driver_temp":21.5,"transaction":"t1"}`,
			items: []Item{{Key: "climate", Value: "heat_cool"}, {Key: "driver_temp", Value: 21.5}}, tr: "t1"},
		{in: `{"transaction": 7, "sentry_mode": true}`, items: []Item{{Key: "sentry_mode", Value: true}}, tr: 7.0},
		{in: `80`, errCode: CodeInvalidPayload},
		{in: `{"charge_limit": }`, errCode: CodeInvalidPayload},
		{in: `{"transaction":"x"}`, errCode: CodeInvalidPayload, tr: "x"},
		{in: `{"a":1} {"b":2}`, errCode: CodeInvalidPayload},
		{in: ``, errCode: CodeInvalidPayload},
		{in: `[1,2]`, errCode: CodeInvalidPayload},
	}
	for _, tc := range tests {
		items, tr, err := ParseObject([]byte(tc.in))
		if tc.errCode != "" {
			if err == nil || err.Code != tc.errCode {
				t.Errorf("%q: err = %v, want %s", tc.in, err, tc.errCode)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: unexpected %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(items, tc.items) || !reflect.DeepEqual(tr, tc.tr) {
			t.Errorf("%q: got %v %v, want %v %v", tc.in, items, tr, tc.items, tc.tr)
		}
	}
}

func TestParseKeyPayload(t *testing.T) {
	tests := []struct {
		in    string
		value any
		tr    any
		bad   bool
	}{
		{in: "80", value: 80.0},
		{in: " ON \n", value: "ON"},
		{in: "PRESS", value: "PRESS"},
		{in: `"heat_cool"`, value: "heat_cool"},
		{in: "true", value: true},
		{in: "self_consumption", value: "self_consumption"},
		{in: `{"value": 70, "transaction": "n1"}`, value: 70.0, tr: "n1"},
		{in: `{"transaction": "n1"}`, bad: true, tr: "n1"},
		{in: `{"value": }`, bad: true},
		{in: "", bad: true},
	}
	for _, tc := range tests {
		items, tr, err := ParseKey("k", []byte(tc.in))
		if tc.bad {
			if err == nil || err.Code != CodeInvalidPayload {
				t.Errorf("%q: err = %v, want invalid_payload", tc.in, err)
			}
			continue
		}
		if err != nil || len(items) != 1 || !reflect.DeepEqual(items[0].Value, tc.value) || !reflect.DeepEqual(tr, tc.tr) {
			t.Errorf("%q: got %v %v %v, want %v %v", tc.in, items, tr, err, tc.value, tc.tr)
		}
	}
}

// FuzzSetPayload feeds arbitrary payloads through both set-topic parsers and
// every command adapter of both tables: nothing may panic, and every outcome
// is either a command or a payload error with a code.
func FuzzSetPayload(f *testing.F) {
	for _, s := range []string{`{"charge_limit":80}`, `80`, `ON`, `PRESS`, `{"value":1e309}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`{"climate":"heat_cool","transaction":"t"}`, `-0`, `NaN`, "\x00", `{"charging_amps":"32"}`, `"off"`, `[`, `{"value":null}`} {
		f.Add([]byte(s))
	}
	type bound struct {
		row  *entity.Spec
		view any
	}
	var all []bound
	vv := &entity.VehicleView{VIN: "5YJ3E1EA7PF000001"}
	for _, r := range entity.VehicleTable() {
		all = append(all, bound{r, vv})
	}
	sv := &entity.SiteView{ID: 1}
	for _, r := range entity.SiteTable(sv) {
		all = append(all, bound{r, sv})
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if items, _, err := ParseObject(payload); err == nil {
			for _, it := range items {
				if it.Key == "" && !utf8.ValidString(it.Key) {
					t.Fatalf("bad key %q", it.Key)
				}
			}
		} else if err.Code == "" {
			t.Fatal("payload error without a code")
		}
		items, _, perr := ParseKey("k", payload)
		if perr != nil {
			return
		}
		for _, e := range all {
			if !e.row.Writable() {
				continue
			}
			if _, err := safeCommand(e.row, items[0].Value, e.view); err != nil {
				if _, ok := err.(*entity.PayloadError); !ok {
					t.Fatalf("%s: adapter returned %T, want *entity.PayloadError", e.row.Key, err)
				}
			}
		}
	})
}
