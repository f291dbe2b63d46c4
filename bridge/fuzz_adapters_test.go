package bridge

import (
	"encoding/json"
	"testing"
)

// FuzzCommandPayload runs every command adapter of every table on fuzzed
// values without safeCommand's recover, so a panic on odd input shows up as
// a crash here instead of hiding behind an invalid_payload result. The value
// reaches an adapter either as the bare string of set/<key> or JSON-decoded
// from a set object, so both forms are tried.
func FuzzCommandPayload(f *testing.F) {
	for _, s := range []string{"80", "ON", "OFF", "PRESS", "heat_cool", `"22.5"`, `-1`, `1e309`, `true`, `null`,
		`[1,2]`, `{"a":1}`, "", "\xff", `{"value":80}`, `"autonomous"`, `" 32 "`} {
		f.Add(s)
	}
	vv := &VehicleView{VIN: testVIN}
	sv := &SiteView{ID: 1}
	rows := append(bind(vehicleRows(), func() *VehicleView { return vv }), bind(siteEntities, func() *SiteView { return sv })...)
	rows = append(rows, bind(wallConnectorEntities, func() *wcView { return &wcView{site: sv, din: "x"} })...)
	f.Fuzz(func(t *testing.T, payload string) {
		values := []any{payload}
		var v any
		if json.Unmarshal([]byte(payload), &v) == nil {
			values = append(values, plainNumbers(v))
		}
		for _, e := range rows {
			if e.command == nil {
				continue
			}
			for _, val := range values {
				cmd, err := e.command(val)
				if err == nil && cmd.Name == "" {
					t.Fatalf("%s(%#v): a command without a name", e.key, val)
				}
			}
		}
	})
}
