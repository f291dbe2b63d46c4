package main

import (
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// One mapping: an awake car read over Bluetooth publishes, entity by
// entity, what a Fleet API vehicle_data read of the same car publishes.
// The Bluetooth read leaves null only what the car does not send that way
// (vehicle_config, the firmware version, energy_remaining…); the Fleet
// API read that follows fills those and changes nothing else.
func TestEndToEndBLEReadEqualsFleetRead(t *testing.T) {
	e := startBLEE2E(t, modelY, "prefer", -60)
	if err := e.sim.SetVehicleState(modelY, fleet.StateOnline); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.sched.Fire("connectivity")
	viaBLE := e.state(t, modelY, func(m map[string]any) bool {
		return m["data_source"] == "ble" && m["battery_level"] != nil
	})
	e.noFleet(t, "read in range")

	// The same car, unchanged, read over the Fleet API: out of range, a
	// refresh.
	e.sim.SetBLERange(modelY, false, 0)
	e.clock.Advance(time.Minute)
	if err := e.set.Publish("tesla2mqtt/"+modelY+"/get", []byte(""), false); err != nil {
		t.Fatal(err)
	}
	viaFleet := e.state(t, modelY, func(m map[string]any) bool { return m["data_source"] == "fleet" })

	skip := map[string]bool{"data_source": true, "updated_at": true, "last_seen": true, "ble_connected": true,
		"ble_rssi": true, "telemetry_at": true, "last_command": true}
	var same, filled []string
	for k, b := range viaFleet {
		a := viaBLE[k]
		switch {
		case skip[k]:
		case a == nil && b != nil:
			filled = append(filled, k)
		case !sameValue(a, b):
			t.Errorf("%s: over Bluetooth %v, over the Fleet API %v", k, a, b)
		default:
			same = append(same, k)
		}
	}
	sort.Strings(filled)
	if len(same) < 40 {
		t.Errorf("only %d entities agree: %v", len(same), same)
	}
	// What Bluetooth does not carry (docs/ble.md §2).
	notOverBLE := map[string]bool{"energy_remaining": true, "software_version": true}
	for _, k := range filled {
		if !notOverBLE[k] {
			t.Errorf("%s: null over Bluetooth, %v over the Fleet API", k, viaFleet[k])
		}
	}
	t.Logf("%d entities agree; filled by the Fleet API only: %v", len(same), filled)
}

// sameValue compares two state values; numbers agree within the float32
// precision the car's protobuf carries (coordinates, about a metre).
func sameValue(a, b any) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB {
		return math.Abs(fa-fb) <= 1e-5*math.Max(1, math.Abs(fb))
	}
	return reflect.DeepEqual(a, b)
}
