package main

import (
	"fmt"
	"io"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// demoGarageVIN is the car `demo --ble` parks in the garage: "Blue Y",
// asleep, its key paired, so a command shows the free wake over Bluetooth.
const demoGarageVIN = "7SAYGDEE1PF000002"

// demoGarageRSSI is the beacon strength of the car in the garage.
const demoGarageRSSI = -58

// demoGarage puts the demo's "Blue Y" in Bluetooth range of the bridge and
// gives it [vehicle.ble] (route "prefer", unless the demo's config sets
// one), and returns the simulator's radio to stand in for the adapter: the
// protocol bytes travel in memory to the simulated car, which checks the
// session, signatures and key as it does on the Fleet API's signed path.
func demoGarage(sim *fleetsim.Sim, cfg *config.Config) fleet.BLERadio {
	sim.SetBLERange(demoGarageVIN, true, demoGarageRSSI)
	for i := range cfg.Vehicles {
		if cfg.Vehicles[i].VIN == demoGarageVIN {
			cfg.Vehicles[i].BLE.Enabled = true
			return sim.BLERadio()
		}
	}
	cfg.Vehicles = append(cfg.Vehicles, config.Vehicle{VIN: demoGarageVIN, BLE: config.VehicleBLE{Enabled: true}})
	return sim.BLERadio()
}

// printDemoBLEHelp tells what `demo --ble` adds and how to watch it.
func printDemoBLEHelp(w io.Writer, st *stack, cfg *config.Config) {
	base := cfg.MQTT.BaseTopic
	fmt.Fprintf(w, `
Bluetooth (--ble): %s "Blue Y" is in the garage, in range of a simulated adapter (RSSI %d dBm).
  Its state comes from the body controller and its reads from GetState over Bluetooth:
  data_source "ble", no Fleet API request, no wake. Its command results say "via": "ble",
  and a command to it asleep wakes it over Bluetooth (free) instead of a paid wake_up:
  mosquitto_pub -t %s/%s/set/charge_limit -m 75
`, demoGarageVIN, demoGarageRSSI, base, demoGarageVIN)
	if st.StatusURL != "" {
		fmt.Fprintf(w, "  The status page shows what reached the Fleet API: %s\n", st.StatusURL)
	}
}
