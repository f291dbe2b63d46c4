package entity

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestSiteControlsBuildEnergyCommands(t *testing.T) {
	v := &SiteView{Info: &fleet.SiteInfo{ID: "STE1", SiteName: Ptr("Home"), BackupReservePercent: Ptr(20.0),
		DefaultRealMode: Ptr("self_consumption"), InstallationTimeZone: Ptr("UTC"),
		OffGridVehicleChargingReservePercent: Ptr(10.0),
		UserSettings:                         &fleet.SiteUserSettings{StormModeEnabled: Ptr(false)},
		Components: &fleet.SiteComponents{Battery: Ptr(true), Solar: Ptr(true), StormModeCapable: Ptr(true),
			OffGridVehicleChargingReserveSupported: Ptr(true), CustomerPreferredExportRule: Ptr("pv_only"),
			DisallowChargeFromGridWithSolarInstalled: Ptr(true)}}}
	rows := map[string]Entity[*SiteView]{}
	for _, r := range siteEntities {
		rows[r.Key] = r
	}
	for _, c := range []struct {
		key    string
		value  any
		name   string
		params map[string]any
	}{
		{"backup_reserve", "35", "backup", map[string]any{"backup_reserve_percent": 35}},
		{"backup_reserve", 35.0, "backup", map[string]any{"backup_reserve_percent": 35}},
		{"operation_mode", "autonomous", "operation", map[string]any{"default_real_mode": "autonomous"}},
		{"operation_mode", "backup", "operation", map[string]any{"default_real_mode": "backup"}},
		{"storm_watch", "ON", "storm_mode", map[string]any{"enabled": true}},
		{"storm_watch", false, "storm_mode", map[string]any{"enabled": false}},
		{"export_rule", "never", "grid_import_export", map[string]any{"customer_preferred_export_rule": "never"}},
		{"grid_charging", "ON", "grid_import_export", map[string]any{"disallow_charge_from_grid_with_solar_installed": false}},
		{"grid_charging", "OFF", "grid_import_export", map[string]any{"disallow_charge_from_grid_with_solar_installed": true}},
		{"off_grid_vehicle_charging_reserve", "20", "off_grid_vehicle_charging_reserve",
			map[string]any{"off_grid_vehicle_charging_reserve_percent": 20}},
	} {
		r := rows[c.key]
		if r.Group != "energy" || !reflect.DeepEqual(r.CommandScopes, []string{fleet.ScopeEnergyCmds}) {
			t.Errorf("%s: group %q scopes %v", c.key, r.Group, r.CommandScopes)
		}
		cmd, err := r.Command(c.value, v)
		if err != nil || cmd.Name != c.name || !reflect.DeepEqual(cmd.Params, c.params) {
			t.Errorf("%s %v → %+v, %v; want %s %v", c.key, c.value, cmd, err, c.name, c.params)
		}
	}
	for _, c := range []struct {
		key   string
		value any
	}{{"backup_reserve", "101"}, {"backup_reserve", "20.5"}, {"operation_mode", "eco"},
		{"export_rule", "always"}, {"grid_charging", "maybe"}, {"off_grid_vehicle_charging_reserve", -1.0}} {
		_, err := rows[c.key].Command(c.value, v)
		var pe *PayloadError
		if !errors.As(err, &pe) || pe.Code != CodeInvalidPayload || !strings.HasPrefix(pe.Message, c.key+" ") {
			t.Errorf("%s %v: err = %v, want an invalid_payload naming the key", c.key, c.value, err)
		}
	}
}
