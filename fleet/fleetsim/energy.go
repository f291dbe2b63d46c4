package fleetsim

import (
	"math"
	"time"
	_ "time/tzdata" // the site's time zone must resolve even without system tzdata
)

// homeTimeZone is the installation_time_zone of the default site.
const homeTimeZone = "Europe/Berlin"

var homeLocation = loadLocation(homeTimeZone)

func loadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// SiteSnapshot holds the main simulated values of an energy site. Powers
// are in W with Tesla's signs (battery > 0 discharges, grid > 0 imports) and
// always balance: LoadPower = SolarPower + BatteryPower + GridPower. The
// powers are computed from the clock and are read-only in UpdateSite.
type SiteSnapshot struct {
	ID       int64
	SiteName string

	PercentageCharged                    float64 // %
	BackupReservePercent                 float64
	DefaultRealMode                      string // "self_consumption", "autonomous", "backup"
	StormModeEnabled                     bool
	CustomerPreferredExportRule          string // "pv_only", "battery_ok", "never"
	DisallowChargeFromGridWithSolar      bool
	OffGridVehicleChargingReservePercent float64
	GridStatus                           string // "Active"; anything else means a grid outage (island)

	SolarPower   float64
	LoadPower    float64
	BatteryPower float64
	GridPower    float64
}

// siteSim is one simulated energy site (Powerwall + solar + Wall
// Connector). Guarded by Sim.mu. Energy command handlers change its
// settings fields.
type siteSim struct {
	id                          int64
	name, uuid, gatewayID, tzID string
	tz                          *time.Location
	capacityWh, maxBatteryW     float64
	solarPeakW                  float64
	wallConnectorDIN            string

	pct                   float64 // state of charge, %
	backupReserve         float64
	realMode              string
	stormEnabled          bool
	exportRule            string
	disallowGridCharge    bool
	offGridVehicleReserve float64
	gridStatus            string

	updated time.Time
}

func defaultSites(now time.Time) []*siteSim {
	return []*siteSim{{
		id: 1000000001, name: "Home", uuid: "STE20240315-00001", gatewayID: "1232100-00-E--TG0123456789AB",
		tzID: homeTimeZone, tz: homeLocation, capacityWh: 13500, maxBatteryW: 5000, solarPeakW: 6000,
		wallConnectorDIN: "1457768-02-G--TEST0001",
		pct:              55, backupReserve: 20, realMode: "self_consumption", exportRule: "pv_only",
		disallowGridCharge: true, gridStatus: "Active",
		updated: now,
	}}
}

// siteByID finds a site. Callers hold Sim.mu.
func (s *Sim) siteByID(id int64) *siteSim {
	for _, st := range s.sites {
		if st.id == id {
			return st
		}
	}
	return nil
}

func (st *siteSim) onGrid() bool { return st.gridStatus == "Active" }

// solar is the PV output at t: a sine-shaped day from 06:00 to 20:00 site
// time peaking at 13:00, with a slow ±4 % "cloud" ripple.
func (st *siteSim) solar(t time.Time) float64 {
	lt := t.In(st.tz)
	h := float64(lt.Hour()) + float64(lt.Minute())/60 + float64(lt.Second())/3600
	if h <= 6 || h >= 20 {
		return 0
	}
	shape := math.Pow(math.Sin(math.Pi*(h-6)/14), 1.5)
	cloud := 0.96 + 0.04*math.Sin(2*math.Pi*float64(t.Unix())/2400)
	return st.solarPeakW * shape * cloud
}

// load is the house consumption at t: 600–1500 W, varying smoothly.
func (st *siteSim) load(t time.Time) float64 {
	sec := float64(t.Unix())
	return 1050 + 300*math.Sin(2*math.Pi*sec/(3*3600)) + 150*math.Sin(2*math.Pi*sec/(17*60))
}

// powers returns whole-watt powers at t for state of charge pct. The battery
// covers the gap between solar and load (self-consumption) within its power
// limit, the backup reserve and 100 %; the grid takes the rest, so the
// balance load = solar + battery + grid holds exactly.
func (st *siteSim) powers(t time.Time, pct float64) (solar, load, battery, grid float64) {
	solar, load = math.Round(st.solar(t)), math.Round(st.load(t))
	net := load - solar // > 0: deficit
	switch {
	case net > 0 && pct > 0 && (!st.onGrid() || (st.realMode != "backup" && pct > st.backupReserve)):
		battery = math.Min(net, st.maxBatteryW)
	case net < 0 && pct < 100:
		battery = -math.Min(-net, st.maxBatteryW)
	}
	if !st.onGrid() {
		// Islanded: no grid; surplus solar is curtailed.
		if solar > load-battery {
			solar = load - battery
		}
		return solar, load, battery, 0
	}
	return solar, load, battery, load - solar - battery
}

// advance integrates the battery's state of charge from st.updated to now
// in steps of at most one minute.
func (st *siteSim) advance(now time.Time) {
	if !now.After(st.updated) {
		return
	}
	total := now.Sub(st.updated)
	step := time.Minute
	if total/step > 20000 {
		step = total / 20000
	}
	for t := st.updated; t.Before(now); {
		d := min(step, now.Sub(t))
		_, _, battery, _ := st.powers(t, st.pct)
		st.pct -= battery * d.Hours() / st.capacityWh * 100
		st.pct = math.Max(0, math.Min(100, st.pct))
		t = t.Add(d)
	}
	st.updated = now
}

func (st *siteSim) snapshot() SiteSnapshot {
	solar, load, battery, grid := st.powers(st.updated, st.pct)
	return SiteSnapshot{
		ID: st.id, SiteName: st.name, PercentageCharged: st.pct,
		BackupReservePercent: st.backupReserve, DefaultRealMode: st.realMode,
		StormModeEnabled: st.stormEnabled, CustomerPreferredExportRule: st.exportRule,
		DisallowChargeFromGridWithSolar:      st.disallowGridCharge,
		OffGridVehicleChargingReservePercent: st.offGridVehicleReserve,
		GridStatus:                           st.gridStatus,
		SolarPower:                           solar, LoadPower: load, BatteryPower: battery, GridPower: grid,
	}
}

func (st *siteSim) apply(s SiteSnapshot) {
	st.name = s.SiteName
	st.pct = math.Max(0, math.Min(100, s.PercentageCharged))
	st.backupReserve = s.BackupReservePercent
	st.realMode = s.DefaultRealMode
	st.stormEnabled = s.StormModeEnabled
	st.exportRule = s.CustomerPreferredExportRule
	st.disallowGridCharge = s.DisallowChargeFromGridWithSolar
	st.offGridVehicleReserve = s.OffGridVehicleChargingReservePercent
	st.gridStatus = s.GridStatus
}

// ---- JSON shapes (FLEET_API §5) ----

func (st *siteSim) islandStatus() string {
	if st.onGrid() {
		return "on_grid"
	}
	return "off_grid_unintentional"
}

func (st *siteSim) liveStatus(now time.Time) map[string]any {
	solar, load, battery, grid := st.powers(now, st.pct)
	return map[string]any{
		"solar_power":          solar,
		"energy_left":          round(st.pct/100*st.capacityWh, 1),
		"total_pack_energy":    st.capacityWh,
		"percentage_charged":   st.pct,
		"backup_capable":       true,
		"battery_power":        battery,
		"load_power":           load,
		"grid_status":          st.gridStatus,
		"grid_services_active": false,
		"grid_power":           grid,
		"grid_services_power":  0,
		"generator_power":      0,
		"island_status":        st.islandStatus(),
		"storm_mode_active":    false,
		"timestamp":            now.In(st.tz).Format("2006-01-02T15:04:05-07:00"),
		"wall_connectors": []any{map[string]any{
			"din": st.wallConnectorDIN, "wall_connector_state": 2,
			"wall_connector_fault_state": 2, "wall_connector_power": 0,
		}},
	}
}

func (st *siteSim) siteInfo() map[string]any {
	return map[string]any{
		"id":                     st.uuid,
		"site_name":              st.name,
		"backup_reserve_percent": st.backupReserve,
		"default_real_mode":      st.realMode,
		"installation_date":      "2024-03-15T10:00:00+01:00",
		"installation_time_zone": st.tzID,
		"user_settings": map[string]any{
			"go_off_grid_test_banner_enabled":        false,
			"storm_mode_enabled":                     st.stormEnabled,
			"powerwall_onboarding_settings_set":      true,
			"powerwall_tesla_electric_interested_in": false,
			"vpp_tour_enabled":                       true,
			"sync_grid_alert_enabled":                true,
			"breaker_alert_enabled":                  false,
		},
		"components": map[string]any{
			"solar": true, "solar_type": "pv_panel", "battery": true, "grid": true, "backup": true,
			"gateway": "teg", "load_meter": true, "tou_capable": true, "storm_mode_capable": true,
			"flex_energy_request_capable": false, "car_charging_data_supported": false,
			"off_grid_vehicle_charging_reserve_supported":    true,
			"vehicle_charging_performance_view_enabled":      false,
			"vehicle_charging_solar_offset_view_enabled":     false,
			"battery_solar_offset_view_enabled":              true,
			"solar_value_enabled":                            true,
			"set_islanding_mode_enabled":                     true,
			"backup_time_remaining_enabled":                  true,
			"battery_type":                                   "ac_powerwall",
			"configurable":                                   true,
			"grid_services_enabled":                          false,
			"customer_preferred_export_rule":                 st.exportRule,
			"disallow_charge_from_grid_with_solar_installed": st.disallowGridCharge,
			"net_meter_mode":                                 "battery_ok",
			"system_alerts_enabled":                          true,
			"gateways": []any{map[string]any{
				"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000001", "din": st.gatewayID,
				"serial_number": "TG0123456789AB", "part_number": "1232100-00-E", "part_type": 3,
				"part_name": "Tesla Backup Gateway 2", "is_active": true, "site_id": st.uuid,
				"firmware_version": "25.10.1", "updated_datetime": "2025-06-01T12:00:00.000Z",
			}},
			"batteries": []any{map[string]any{
				"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000002", "din": "3012170-05-C--TG0123456789CD",
				"serial_number": "TG0123456789CD", "part_number": "3012170-05-C", "part_type": 2,
				"part_name": "Powerwall 2", "nameplate_max_charge_power": st.maxBatteryW,
				"nameplate_max_discharge_power": st.maxBatteryW, "nameplate_energy": st.capacityWh,
			}},
			"wall_connectors": []any{map[string]any{
				"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000003", "din": st.wallConnectorDIN,
				"part_number": "1457768-02-G", "part_type": 10, "part_name": "Gen 3 Wall Connector", "is_active": true,
			}},
		},
		"version":                                   "25.10.1 46f2e1a5",
		"battery_count":                             1,
		"tou_settings":                              map[string]any{"optimization_strategy": "economics", "schedule": []any{}},
		"nameplate_power":                           st.maxBatteryW,
		"nameplate_energy":                          st.capacityWh,
		"max_site_meter_power_ac":                   1000000000,
		"min_site_meter_power_ac":                   -1000000000,
		"vpp_backup_reserve_percent":                0,
		"off_grid_vehicle_charging_reserve_percent": st.offGridVehicleReserve,
	}
}

// product is the site's entry in /api/1/products.
func (st *siteSim) product() map[string]any {
	_, _, battery, _ := st.powers(st.updated, st.pct)
	return map[string]any{
		"energy_site_id": st.id, "resource_type": "battery", "site_name": st.name,
		"id": st.uuid, "gateway_id": st.gatewayID, "asset_site_id": "a1b2c3d4-0000-4000-8000-000000000001",
		"warp_site_number": "STE20240315-00001",
		"energy_left":      round(st.pct/100*st.capacityWh, 1), "total_pack_energy": st.capacityWh,
		"percentage_charged": st.pct, "battery_type": "ac_powerwall", "backup_capable": true,
		"battery_power": battery, "go_off_grid_test_banner_enabled": nil,
		"storm_mode_enabled": st.stormEnabled, "powerwall_onboarding_settings_set": true,
		"powerwall_tesla_electric_interested_in": nil, "vpp_tour_enabled": nil,
		"sync_grid_alert_enabled": true, "breaker_alert_enabled": false,
		"components": map[string]any{
			"battery": true, "battery_type": "ac_powerwall", "solar": true, "solar_type": "pv_panel",
			"grid": true, "load_meter": true, "storm_mode_capable": true, "market_type": "residential",
			"wall_connectors": []any{map[string]any{
				"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000003", "din": st.wallConnectorDIN, "is_active": true,
			}},
		},
		"features": map[string]any{"rate_plan_manager_no_pricing_constraint": true},
	}
}
