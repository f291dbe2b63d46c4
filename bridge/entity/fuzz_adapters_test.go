package entity

import (
	"encoding/json"
	"testing"
)

// FuzzCommandPayload runs every command adapter of every table on fuzzed
// values without the executor's recover, so a panic on odd input shows up as
// a crash here instead of hiding behind an invalid_payload result. The value
// reaches an adapter either as the bare string of set/<key> or JSON-decoded
// from a set object, so both forms are tried.
func FuzzCommandPayload(f *testing.F) {
	for _, s := range []string{"80", "ON", "OFF", "PRESS", "heat_cool", `"22.5"`, `-1`, `1e309`, `true`, `null`,
		`[1,2]`, `{"a":1}`, "", "\xff", `{"value":80}`, `"autonomous"`, `" 32 "`} {
		f.Add(s)
	}
	vv := &VehicleView{VIN: "5YJ3E1EA7PF000001"}
	sv := &SiteView{ID: 1}
	type bound struct {
		row  *Spec
		view any
	}
	var rows []bound
	for _, r := range VehicleTable() {
		rows = append(rows, bound{r, vv})
	}
	for _, r := range siteTable {
		rows = append(rows, bound{r, sv})
	}
	for _, r := range WallConnectorTable() {
		rows = append(rows, bound{r, &WallConnectorView{Site: sv, DIN: "x"}})
	}
	f.Fuzz(func(t *testing.T, payload string) {
		values := []any{payload}
		var v any
		if json.Unmarshal([]byte(payload), &v) == nil {
			values = append(values, v)
		}
		for _, e := range rows {
			if !e.row.Writable() {
				continue
			}
			for _, val := range values {
				cmd, err := e.row.Command(val, e.view)
				if err == nil && cmd.Name == "" {
					t.Fatalf("%s(%#v): a command without a name", e.row.Key, val)
				}
			}
		}
	})
}
