package config

import (
	"fmt"
	"regexp"
)

// adapterPattern: the adapter ids the kernel and vehicle-command use.
var adapterPattern = regexp.MustCompile(`^hci([0-9]|1[0-5])$`)

// validateBLE checks every car's [vehicle.ble] table, and that the cars
// agree on one adapter: vehicle-command drives a single adapter per
// process, so a second one would be ignored without a word.
func (c *Config) validateBLE(ps *problems) {
	adapter, adapterKey := "", ""
	for i, v := range c.Vehicles {
		key := fmt.Sprintf("vehicle[%d].ble", i)
		b := v.BLE
		if b.Route != "" {
			oneOf(ps, key+".route", b.Route, "prefer", "only", "off")
		}
		if b.Adapter != "" && !adapterPattern.MatchString(b.Adapter) {
			ps.add(key+".adapter", "%q is not an adapter id: write \"hci0\", \"hci1\"… (see `bluetoothctl list` or /sys/class/bluetooth), or leave it empty for the first adapter", b.Adapter)
		}
		if !b.Enabled {
			if b.Adapter != "" || b.Route != "" {
				ps.add(key, "adapter and route are only used with %s.enabled = true", key)
			}
			continue
		}
		if b.Route != "off" && c.Tesla.PrivateKeyFile == "" {
			ps.add(key+".enabled", "needs tesla.private_key_file: reads, commands and wakes over Bluetooth are signed with the app's key (or set route = \"off\" to only watch the car's beacon)")
		}
		switch {
		case adapterKey == "":
			adapter, adapterKey = b.Adapter, key+".adapter"
		case b.Adapter != adapter:
			ps.add(key+".adapter", "%q differs from %s (%q): all cars share one Bluetooth adapter", b.Adapter, adapterKey, adapter)
		}
	}
}
