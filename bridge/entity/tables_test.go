package entity

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// allTables are every table the bridge offers rows from, compiled, with
// the command groups and sources their rows may use.
func allTables() map[string]struct {
	rows    []*Spec
	groups  []string
	sources []fleet.Endpoint
} {
	type table = struct {
		rows    []*Spec
		groups  []string
		sources []fleet.Endpoint
	}
	siteSources := []fleet.Endpoint{SourceLiveStatus, SourceSiteInfo, SourceHistory}
	return map[string]table{
		"vehicle":        {VehicleTable(), vtGroups, vtSources},
		"vehicle_ble":    {VehicleBLETable(), vtGroups, vtSources},
		"site":           {siteTable, []string{"energy"}, siteSources},
		"wall_connector": {WallConnectorTable(), nil, []fleet.Endpoint{SourceLiveStatus}},
		"last_command":   {[]*Spec{LastCommandRow()}, nil, []fleet.Endpoint{SourceBridge}},
	}
}

// stateKeys are the state object's own keys: no row may use them.
var stateKeys = []string{"state", "updated_at", "data_source", "telemetry_at"}

// The invariants of STYLE.md §3.2, for every table: unique snake_case
// keys, a command on exactly the writable platforms (with a known group
// and the scopes it needs), numbers with a range, selects and enums with
// options, and device classes, units and state classes HA accepts.
func TestEveryTableInvariants(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for name, tb := range allTables() {
		if len(tb.rows) == 0 {
			t.Errorf("%s: empty table", name)
		}
		seen := map[string]bool{}
		for _, e := range tb.rows {
			if !snake.MatchString(e.Key) || seen[e.Key] {
				t.Errorf("%s/%s: key not snake_case or duplicate", name, e.Key)
			}
			seen[e.Key] = true
			if slices.Contains(stateKeys, e.Key) && !strings.HasPrefix(name, "vehicle") {
				t.Errorf("%s/%s: the state object's own key", name, e.Key)
			}
			if e.Name == "" {
				t.Errorf("%s/%s: no name", name, e.Key)
			}
			if !slices.Contains(tb.sources, e.Source) {
				t.Errorf("%s/%s: source %q unknown to the table", name, e.Key, e.Source)
			}
			writable := slices.Contains(vtWritable, e.Platform)
			if writable != e.Writable() {
				t.Errorf("%s/%s: platform %s but command set = %v", name, e.Key, e.Platform, e.Writable())
			}
			if e.Writable() {
				if !slices.Contains(tb.groups, e.Group) {
					t.Errorf("%s/%s: group %q unknown", name, e.Key, e.Group)
				}
				if len(e.CommandScopes) == 0 {
					t.Errorf("%s/%s: a command without scopes", name, e.Key)
				}
			}
			if e.Platform == hass.Number && (e.Number == nil || e.Number.Min >= e.Number.Max || e.Number.Step <= 0) {
				t.Errorf("%s/%s: number spec %+v", name, e.Key, e.Number)
			}
			if (e.Platform == hass.Select || e.DeviceClass == hass.DCEnum) != (len(e.Options) > 0) {
				t.Errorf("%s/%s: options %v on %s/%s", name, e.Key, e.Options, e.Platform, e.DeviceClass)
			}
			if e.Category == hass.CategoryConfig && (e.Platform == hass.Sensor || e.Platform == hass.BinarySensor) {
				t.Errorf("%s/%s: HA refuses entity_category config on %s", name, e.Key, e.Platform)
			}
			vtCheckClass(t, e.Meta)
		}
	}
}

// Compile keeps every row and its halves: the shared rows are the table.
func TestCompileKeepsRows(t *testing.T) {
	rows := VehicleTable()
	if len(rows) != len(vehicleEntities)+len(pairingEntities) {
		t.Fatalf("%d compiled rows, want %d", len(rows), len(vehicleEntities)+len(pairingEntities))
	}
	for i, e := range vehicleEntities {
		r := rows[i]
		if r.Key != e.Key || r.Writable() != (e.Command != nil) || r.Signal() != e.Telemetry.Field {
			t.Errorf("row %d: compiled %s (writable %v, signal %q) from %s", i, r.Key, r.Writable(), r.Signal(), e.Key)
		}
	}
	if fs := TelemetryFields(); len(fs) < 40 || !slices.IsSorted(fs) {
		t.Errorf("telemetry fields %v", fs)
	}
}
