package entity

import (
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

func live(s *SiteView) *fleet.LiveStatus {
	if s == nil || s.Live == nil {
		return &fleet.LiveStatus{}
	}
	return s.Live
}

func siteInfo(s *SiteView) *fleet.SiteInfo {
	if s == nil || s.Info == nil {
		return &fleet.SiteInfo{}
	}
	return s.Info
}

func siteComponents(s *SiteView) *fleet.SiteComponents {
	if c := siteInfo(s).Components; c != nil {
		return c
	}
	return &fleet.SiteComponents{}
}

// siteKWh turns the API's Wh into kWh, the unit the Energy dashboard and
// most users expect for a battery's content.
func siteKWh(wh *float64) any {
	if wh == nil {
		return nil
	}
	return *wh / 1000
}

// siteGridCharging is the grid-charging switch: ON allows charging the
// battery from the grid, which Tesla expresses as its negation
// (disallow_charge_from_grid_with_solar_installed).
func siteGridCharging(v any, _ *SiteView) (fleet.Command, error) {
	on, err := adapterBool(v)
	if err != nil {
		return fleet.Command{}, err
	}
	return fleet.Command{Name: "grid_import_export",
		Params: map[string]any{"disallow_charge_from_grid_with_solar_installed": !on}}, nil
}

var siteEnergyScopes = []string{fleet.ScopeEnergyCmds}

// Options of the site selects; the lists are also what the commands accept.
var (
	siteOperationModes = []Choice{
		{Option: "self_consumption", Params: map[string]any{"default_real_mode": "self_consumption"}},
		{Option: "autonomous", Params: map[string]any{"default_real_mode": "autonomous"}},
		// Undocumented but accepted (FLEET_API §5).
		{Option: "backup", Params: map[string]any{"default_real_mode": "backup"}},
	}
	siteExportRules = []Choice{
		{Option: "battery_ok", Params: map[string]any{"customer_preferred_export_rule": "battery_ok"}},
		{Option: "pv_only", Params: map[string]any{"customer_preferred_export_rule": "pv_only"}},
		{Option: "never", Params: map[string]any{"customer_preferred_export_rule": "never"}},
	}
)

// siteEntities is the energy-site table; which rows a given site gets is
// decided by siteAvailable. Powers are in W and signed as the API signs
// them:
//   - solar_power ≥ 0: PV output;
//   - battery_power > 0: the battery discharges, < 0: it charges;
//   - grid_power > 0: importing from the grid, < 0: exporting;
//   - load_power ≥ 0: the home's consumption;
//   - generator_power ≥ 0: a backup generator's output;
//   - grid_services_power: power dispatched for a grid-services (VPP)
//     programme; Tesla does not document its sign (UNCONFIRMED).
//
// The balance load = solar + battery + grid (+ generator) holds up to
// rounding.
var siteEntities = keyCommands(append([]Entity[*SiteView]{
	{Meta: Meta{Key: "battery_level", Platform: hass.Sensor, Name: "Battery", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Precision: Ptr(1), Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).PercentageCharged }},
	{Meta: Meta{Key: "solar_power", Platform: hass.Sensor, Name: "Solar power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).SolarPower }},
	{Meta: Meta{Key: "battery_power", Platform: hass.Sensor, Name: "Battery power",
		DeviceClass: hass.DCPower, StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0),
		Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).BatteryPower }},
	{Meta: Meta{Key: "load_power", Platform: hass.Sensor, Name: "Load power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).LoadPower }},
	{Meta: Meta{Key: "grid_power", Platform: hass.Sensor, Name: "Grid power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).GridPower }},
	// Few sites have a generator or take part in grid services: offered,
	// but disabled until the user enables them.
	{Meta: Meta{Key: "generator_power", Platform: hass.Sensor, Name: "Generator power",
		DeviceClass: hass.DCPower, StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0),
		Source: SourceLiveStatus, Disabled: true},
		Value: func(s *SiteView) any { return live(s).GeneratorPower }},
	{Meta: Meta{Key: "grid_services_power", Platform: hass.Sensor, Name: "Grid services power",
		DeviceClass: hass.DCPower, StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0),
		Source: SourceLiveStatus, Disabled: true},
		Value: func(s *SiteView) any { return live(s).GridServicesPower }},
	// The API gives Wh; published in kWh. Offered only when live_status
	// carries them (Powerwall 3 sites do not).
	{Meta: Meta{Key: "energy_left", Platform: hass.Sensor, Name: "Energy left",
		DeviceClass: hass.DCEnergyStorage, StateClass: hass.Measurement, Unit: "kWh", Precision: Ptr(2),
		Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return siteKWh(live(s).EnergyLeft) }},
	{Meta: Meta{Key: "total_pack_energy", Platform: hass.Sensor, Name: "Total pack energy",
		DeviceClass: hass.DCEnergyStorage, StateClass: hass.Measurement, Unit: "kWh", Precision: Ptr(2),
		Source: SourceLiveStatus, Category: hass.CategoryDiagnostic},
		Value: func(s *SiteView) any { return siteKWh(live(s).TotalPackEnergy) }},
	// Status strings: the full value sets are not documented (FLEET_API §5),
	// so plain sensors rather than enums that HA would reject on a surprise.
	{Meta: Meta{Key: "grid_status", Platform: hass.Sensor, Name: "Grid status",
		Icon: "mdi:transmission-tower", Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).GridStatus }},
	{Meta: Meta{Key: "island_status", Platform: hass.Sensor, Name: "Island status", Icon: "mdi:island",
		Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).IslandStatus }},
	{Meta: Meta{Key: "storm_mode_active", Platform: hass.BinarySensor, Name: "Storm watch active",
		Icon: "mdi:weather-lightning", Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).StormModeActive }},
	{Meta: Meta{Key: "backup_capable", Platform: hass.BinarySensor, Name: "Backup capable",
		Category: hass.CategoryDiagnostic, Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).BackupCapable }},
	{Meta: Meta{Key: "grid_services_active", Platform: hass.BinarySensor, Name: "Grid services active",
		Category: hass.CategoryDiagnostic, Source: SourceLiveStatus},
		Value: func(s *SiteView) any { return live(s).GridServicesActive }},

	// Controls. Their state is read back from site_info.
	{Meta: Meta{Key: "backup_reserve", Platform: hass.Number, Name: "Backup reserve", Unit: "%",
		Icon: "mdi:battery-lock", Number: &NumberSpec{Min: 0, Max: 100, Step: 1, Mode: "slider"},
		Source: SourceSiteInfo, CommandScopes: siteEnergyScopes, Group: "energy"},
		Value:   func(s *SiteView) any { return siteInfo(s).BackupReservePercent },
		Command: intParam[*SiteView]("backup", "backup_reserve_percent", fixed[*SiteView](0), fixed[*SiteView](100))},
	{Meta: Meta{Key: "operation_mode", Platform: hass.Select, Name: "Operation mode",
		Icon: "mdi:home-battery", Options: choiceOptions(siteOperationModes), Source: SourceSiteInfo,
		CommandScopes: siteEnergyScopes, Group: "energy"},
		Value:   func(s *SiteView) any { return siteInfo(s).DefaultRealMode },
		Command: choice[*SiteView]("operation", nil, siteOperationModes)},
	{Meta: Meta{Key: "storm_watch", Platform: hass.Switch, Name: "Storm watch",
		Icon: "mdi:weather-lightning-rainy", Source: SourceSiteInfo, CommandScopes: siteEnergyScopes,
		Group: "energy"},
		Value: func(s *SiteView) any {
			if u := siteInfo(s).UserSettings; u != nil {
				return u.StormModeEnabled
			}
			return nil
		},
		Command: onOffParam[*SiteView]("storm_mode", "enabled", nil)},
	{Meta: Meta{Key: "export_rule", Platform: hass.Select, Name: "Export rule",
		Icon: "mdi:transmission-tower-export", Options: choiceOptions(siteExportRules),
		Source: SourceSiteInfo, CommandScopes: siteEnergyScopes, Group: "energy"},
		Value:   func(s *SiteView) any { return siteComponents(s).CustomerPreferredExportRule },
		Command: choice[*SiteView]("grid_import_export", nil, siteExportRules)},
	{Meta: Meta{Key: "grid_charging", Platform: hass.Switch, Name: "Grid charging",
		Icon: "mdi:transmission-tower-import", Source: SourceSiteInfo, CommandScopes: siteEnergyScopes,
		Group: "energy"},
		Value: func(s *SiteView) any {
			if d := siteComponents(s).DisallowChargeFromGridWithSolarInstalled; d != nil {
				return !*d
			}
			return nil
		},
		Command: siteGridCharging},
	{Meta: Meta{Key: "off_grid_vehicle_charging_reserve", Platform: hass.Number,
		Name: "Off-grid vehicle charging reserve", Unit: "%", Icon: "mdi:ev-station",
		Number: &NumberSpec{Min: 0, Max: 100, Step: 1, Mode: "slider"}, Source: SourceSiteInfo,
		CommandScopes: siteEnergyScopes, Group: "energy"},
		Value:   func(s *SiteView) any { return siteInfo(s).OffGridVehicleChargingReservePercent },
		Command: intParam[*SiteView]("off_grid_vehicle_charging_reserve", "off_grid_vehicle_charging_reserve_percent", fixed[*SiteView](0), fixed[*SiteView](100))},
}, siteHistoryEntities...))

// siteAvailable says, per key, whether a site can use the entity; keys
// without a condition are always offered. The conditions read what the
// site reported, so they are re-evaluated after every site_info and
// live_status read (applySiteCapabilities).
var siteAvailable = map[string]func(*SiteView) bool{
	"battery_level":        siteHasBattery,
	"battery_power":        siteHasBattery,
	"grid_services_power":  siteHasBattery,
	"backup_capable":       siteHasBattery,
	"grid_services_active": siteHasBattery,
	"backup_reserve":       siteHasBattery,
	"operation_mode":       siteHasBattery,
	"export_rule":          siteHasBattery,
	"grid_charging":        siteHasBattery,
	"storm_mode_active":    siteStormCapable,
	"storm_watch":          siteStormCapable,
	"off_grid_vehicle_charging_reserve": func(s *SiteView) bool {
		return siteHasBattery(s) && siteFlag(s, func(c *fleet.SiteComponents) *bool { return c.OffGridVehicleChargingReserveSupported }, false)
	},
	"energy_left":        func(s *SiteView) bool { return siteHasBattery(s) && live(s).EnergyLeft != nil },
	"total_pack_energy":  func(s *SiteView) bool { return siteHasBattery(s) && live(s).TotalPackEnergy != nil },
	"battery_charged":    siteHasBattery,
	"battery_discharged": siteHasBattery,
	"solar_generated":    siteHasSolar,
}

// siteFlag reads a component flag from site_info, else from the products
// entry (known before site_info is read), else def.
func siteFlag(s *SiteView, f func(*fleet.SiteComponents) *bool, def bool) bool {
	if s.Info != nil && s.Info.Components != nil {
		if v := f(s.Info.Components); v != nil {
			return *v
		}
	}
	if s.Components != nil {
		if v := f(s.Components); v != nil {
			return *v
		}
	}
	return def
}

// siteHasBattery defaults to true: a Powerwall that hid its controls
// because one read failed would be worse than a solar site briefly
// offering a control that Tesla refuses.
func siteHasBattery(s *SiteView) bool {
	return siteFlag(s, func(c *fleet.SiteComponents) *bool { return c.Battery }, true)
}

func siteHasSolar(s *SiteView) bool {
	return siteFlag(s, func(c *fleet.SiteComponents) *bool { return c.Solar }, true)
}

func siteStormCapable(s *SiteView) bool {
	return siteHasBattery(s) && siteFlag(s, func(c *fleet.SiteComponents) *bool { return c.StormModeCapable }, true)
}

func siteTotalsRow(key, name, icon string, get func(*SiteTotals) *float64) Entity[*SiteView] {
	return Entity[*SiteView]{Meta: Meta{Key: key, Platform: hass.Sensor, Name: name, DeviceClass: hass.DCEnergy,
		StateClass: hass.TotalIncreasing, Unit: "kWh", Precision: Ptr(2), Icon: icon, Source: SourceHistory},
		Value: func(s *SiteView) any {
			if s == nil {
				return nil
			}
			return get(&s.Totals)
		}}
}

// siteHistoryEntities are appended to siteEntities.
var siteHistoryEntities = []Entity[*SiteView]{
	siteTotalsRow("solar_generated", "Solar generated today", "mdi:solar-power",
		func(t *SiteTotals) *float64 { return t.SolarGenerated }),
	siteTotalsRow("grid_imported", "Grid imported today", "mdi:transmission-tower-import",
		func(t *SiteTotals) *float64 { return t.GridImported }),
	siteTotalsRow("grid_exported", "Grid exported today", "mdi:transmission-tower-export",
		func(t *SiteTotals) *float64 { return t.GridExported }),
	siteTotalsRow("battery_charged", "Battery charged today", "mdi:battery-arrow-up",
		func(t *SiteTotals) *float64 { return t.BatteryCharged }),
	siteTotalsRow("battery_discharged", "Battery discharged today", "mdi:battery-arrow-down",
		func(t *SiteTotals) *float64 { return t.BatteryDischarged }),
	siteTotalsRow("home_usage", "Home usage today", "mdi:home-lightning-bolt",
		func(t *SiteTotals) *float64 { return t.HomeUsage }),
}
