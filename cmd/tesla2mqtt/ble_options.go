package main

import (
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// bleCarConfigs maps the cars' [vehicle.ble] tables onto fleet's options,
// for the bridge to build its BLE sessions from: only enabled cars, with
// the default route filled in.
func bleCarConfigs(cfg *config.Config) []fleet.BLECarConfig {
	var out []fleet.BLECarConfig
	for _, v := range cfg.Vehicles {
		if !v.BLE.Enabled {
			continue
		}
		route := v.BLE.Route
		if route == "" {
			route = config.DefaultBLERoute
		}
		out = append(out, fleet.BLECarConfig{VIN: v.VIN, Adapter: v.BLE.Adapter, Route: fleet.BLERoute(route)})
	}
	return out
}

// bleAdapter is the adapter the config's BLE cars share ("" = the first):
// validation makes sure they name the same one.
func bleAdapter(cfg *config.Config) string {
	for _, c := range bleCarConfigs(cfg) {
		return c.Adapter
	}
	return ""
}

// carNames maps the configured cars' VINs to their names ("" when unnamed).
func carNames(cfg *config.Config) map[string]string {
	out := map[string]string{}
	if cfg == nil {
		return out
	}
	for _, v := range cfg.Vehicles {
		out[v.VIN] = v.Name
	}
	return out
}
