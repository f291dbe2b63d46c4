package fleetsim

// Energy site commands (FLEET_API §5). Each changes the simulated site's
// settings; siteCommand answers {"code":201,"message":"Updated"} or a 400
// with the reason. Sites without the hardware refuse, as Tesla does, so a
// client that offers a control the site lacks sees it fail.

// Refusal reasons of the energy commands.
const (
	reasonNoBattery   = "site has no battery"
	reasonUnsupported = "not supported by this site"
	reasonBadField    = "invalid_field"
)

// batteryOnly refuses a command on a site without a battery.
func batteryOnly(fn func(*siteCmd) (bool, string)) func(*siteCmd) (bool, string) {
	return func(c *siteCmd) (bool, string) {
		if !c.Site.hasBattery() {
			return false, reasonNoBattery
		}
		return fn(c)
	}
}

// cmdOperation is POST …/operation {"default_real_mode": …}; "backup" is
// undocumented but works on the real fleet.
func cmdOperation(c *siteCmd) (bool, string) {
	m, _ := c.String("default_real_mode")
	switch m {
	case "self_consumption", "autonomous", "backup":
		c.Site.realMode = m
		return true, ""
	}
	return false, reasonBadField
}

// cmdStormMode is POST …/storm_mode {"enabled": bool}.
func cmdStormMode(c *siteCmd) (bool, string) {
	on, found := c.Bool("enabled")
	if !found {
		return false, reasonBadField
	}
	c.Site.stormEnabled = on
	return true, ""
}

// cmdGridImportExport is POST …/grid_import_export with either or both of
// disallow_charge_from_grid_with_solar_installed and
// customer_preferred_export_rule; nothing changes unless both are valid.
func cmdGridImportExport(c *siteCmd) (bool, string) {
	rule, hasRule := c.Args["customer_preferred_export_rule"]
	_, hasDisallow := c.Args["disallow_charge_from_grid_with_solar_installed"]
	if !hasRule && !hasDisallow {
		return false, reasonBadField
	}
	var newRule string
	if hasRule {
		s, _ := rule.(string)
		switch s {
		case "battery_ok", "pv_only", "never":
			newRule = s
		default:
			return false, reasonBadField
		}
	}
	disallow, isBool := c.Bool("disallow_charge_from_grid_with_solar_installed")
	if hasDisallow && !isBool {
		return false, reasonBadField
	}
	if hasRule {
		c.Site.exportRule = newRule
	}
	if hasDisallow {
		c.Site.disallowGridCharge = disallow
	}
	return true, ""
}

// cmdOffGridReserve is POST …/off_grid_vehicle_charging_reserve
// {"off_grid_vehicle_charging_reserve_percent": int}.
func cmdOffGridReserve(c *siteCmd) (bool, string) {
	if c.Site.kind != sitePowerwall2 {
		return false, reasonUnsupported
	}
	p, found := c.Float("off_grid_vehicle_charging_reserve_percent")
	if !found || p < 0 || p > 100 {
		return false, reasonBadField
	}
	c.Site.offGridVehicleReserve = p
	return true, ""
}
