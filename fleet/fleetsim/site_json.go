package fleetsim

import "time"

// JSON shapes of the energy endpoints (FLEET_API §5). What a site reports
// depends on its kind: a solar-only site has no battery fields worth the
// name and no controls, a Powerwall 3 omits energy_left/total_pack_energy.

func (st *siteSim) islandStatus() string {
	if st.onGrid() {
		return "on_grid"
	}
	return "off_grid_unintentional"
}

func (st *siteSim) liveStatus(now time.Time) map[string]any {
	solar, load, battery, grid := st.powers(now, st.pct)
	m := map[string]any{
		"solar_power":          solar,
		"percentage_charged":   st.pct,
		"backup_capable":       st.hasBattery(),
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
	}
	if st.reportsEnergyLeft() {
		m["energy_left"] = round(st.pct/100*st.capacityWh, 1)
		m["total_pack_energy"] = st.capacityWh
	}
	if st.wallConnectorDIN != "" {
		m["wall_connectors"] = []any{map[string]any{
			"din": st.wallConnectorDIN, "wall_connector_state": 2,
			"wall_connector_fault_state": 2, "wall_connector_power": 0,
		}}
	}
	return m
}

// batteryPartName is the part name site_info reports for the battery.
func (st *siteSim) batteryPartName() string {
	if st.kind == sitePowerwall3 {
		return "Powerwall 3"
	}
	return "Powerwall 2"
}

func (st *siteSim) components() map[string]any {
	c := map[string]any{
		"solar": true, "solar_type": "pv_panel", "battery": st.hasBattery(), "grid": true,
		"backup": st.hasBattery(), "gateway": "teg", "load_meter": true, "tou_capable": st.hasBattery(),
		"storm_mode_capable": st.hasBattery(), "flex_energy_request_capable": false,
		"car_charging_data_supported":                 false,
		"off_grid_vehicle_charging_reserve_supported": st.kind == sitePowerwall2,
		"vehicle_charging_performance_view_enabled":   false,
		"vehicle_charging_solar_offset_view_enabled":  false,
		"battery_solar_offset_view_enabled":           st.hasBattery(),
		"solar_value_enabled":                         true,
		"set_islanding_mode_enabled":                  st.hasBattery(),
		"backup_time_remaining_enabled":               st.hasBattery(),
		"configurable":                                st.hasBattery(),
		"grid_services_enabled":                       false,
		"net_meter_mode":                              "battery_ok",
		"system_alerts_enabled":                       true,
		"gateways": []any{map[string]any{
			"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-00000000000" + st.uuid[len(st.uuid)-1:], "din": st.gatewayID,
			"serial_number": st.gatewayID[len(st.gatewayID)-14:], "part_number": st.gatewayID[:12], "part_type": 3,
			"part_name": "Tesla Backup Gateway 2", "is_active": true, "site_id": st.uuid,
			"firmware_version": "25.10.1", "updated_datetime": "2025-06-01T12:00:00.000Z",
		}},
	}
	if st.hasBattery() {
		c["battery_type"] = "ac_powerwall"
		c["customer_preferred_export_rule"] = st.exportRule
		c["disallow_charge_from_grid_with_solar_installed"] = st.disallowGridCharge
		c["batteries"] = []any{map[string]any{
			"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000002", "din": "3012170-05-C--TG0123456789CD",
			"serial_number": "TG0123456789CD", "part_number": "3012170-05-C", "part_type": 2,
			"part_name": st.batteryPartName(), "nameplate_max_charge_power": st.maxBatteryW,
			"nameplate_max_discharge_power": st.maxBatteryW, "nameplate_energy": st.capacityWh,
		}}
	}
	if st.wallConnectorDIN != "" {
		c["wall_connectors"] = []any{map[string]any{
			"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000003", "din": st.wallConnectorDIN,
			"part_number": "1457768-02-G", "part_type": 10, "part_name": "Gen 3 Wall Connector", "is_active": true,
		}}
	}
	return c
}

func (st *siteSim) siteInfo() map[string]any {
	m := map[string]any{
		"id":                     st.uuid,
		"site_name":              st.name,
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
		"components":              st.components(),
		"version":                 "25.10.1 46f2e1a5",
		"max_site_meter_power_ac": 1000000000,
		"min_site_meter_power_ac": -1000000000,
	}
	if st.hasBattery() {
		m["backup_reserve_percent"] = st.backupReserve
		m["default_real_mode"] = st.realMode
		m["battery_count"] = 1
		m["tou_settings"] = map[string]any{"optimization_strategy": "economics", "schedule": []any{}}
		m["nameplate_power"] = st.maxBatteryW
		m["nameplate_energy"] = st.capacityWh
		m["vpp_backup_reserve_percent"] = 0
	}
	if st.kind == sitePowerwall2 {
		m["off_grid_vehicle_charging_reserve_percent"] = st.offGridVehicleReserve
	}
	return m
}

// product is the site's entry in /api/1/products.
func (st *siteSim) product() map[string]any {
	_, _, battery, _ := st.powers(st.updated, st.pct)
	resourceType := "battery"
	if !st.hasBattery() {
		resourceType = "solar"
	}
	p := map[string]any{
		"energy_site_id": st.id, "resource_type": resourceType, "site_name": st.name,
		"id": st.uuid, "gateway_id": st.gatewayID, "asset_site_id": "a1b2c3d4-0000-4000-8000-00000000000" + st.uuid[len(st.uuid)-1:],
		"warp_site_number":   st.uuid,
		"percentage_charged": st.pct, "backup_capable": st.hasBattery(),
		"battery_power": battery, "go_off_grid_test_banner_enabled": nil,
		"storm_mode_enabled": st.stormEnabled, "powerwall_onboarding_settings_set": true,
		"powerwall_tesla_electric_interested_in": nil, "vpp_tour_enabled": nil,
		"sync_grid_alert_enabled": true, "breaker_alert_enabled": false,
		"features": map[string]any{"rate_plan_manager_no_pricing_constraint": true},
	}
	comps := map[string]any{
		"battery": st.hasBattery(), "solar": true, "solar_type": "pv_panel",
		"grid": true, "load_meter": true, "storm_mode_capable": st.hasBattery(), "market_type": "residential",
	}
	if st.hasBattery() {
		comps["battery_type"] = "ac_powerwall"
		p["battery_type"] = "ac_powerwall"
	}
	if st.reportsEnergyLeft() {
		p["energy_left"] = round(st.pct/100*st.capacityWh, 1)
		p["total_pack_energy"] = st.capacityWh
	}
	if st.wallConnectorDIN != "" {
		comps["wall_connectors"] = []any{map[string]any{
			"device_id": "b2c1e0a4-1a2b-4c3d-8e9f-000000000003", "din": st.wallConnectorDIN, "is_active": true,
		}}
	}
	p["components"] = comps
	return p
}
