package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBLERadioStaysInFleetBLE keeps the radio (go-ble, vehicle-command's
// connector/ble) out of every package but fleet/ble and cmd: the bridge
// and the tests reach it through fleet.BLERadio, so they build and run on
// machines without Bluetooth and never open an adapter by accident.
func TestBLERadioStaysInFleetBLE(t *testing.T) {
	forbidden := []string{"github.com/go-ble/", "github.com/teslamotors/vehicle-command/pkg/connector/ble"}
	for _, pkg := range []string{"fleet", "fleet/fleetsim", "bridge/...", "mqtt/...", "config"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s imports %s: only fleet/ble may drive the radio", pkg, dep)
				}
			}
		}
	}
	// The rule must see the radio where it is, or it proves nothing.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../fleet/ble").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/go-ble/ble") {
		t.Errorf("fleet/ble does not import go-ble (%v): the check looks in the wrong place", err)
	}
}
