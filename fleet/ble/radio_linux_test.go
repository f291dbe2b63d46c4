//go:build linux

package ble

import (
	"errors"
	"testing"

	vcble "github.com/teslamotors/vehicle-command/pkg/connector/ble"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// fleet derives the beacon name itself (so fleet needs no go-ble); it must
// be the name vehicle-command's scan looks for.
func TestLocalNameMatchesVehicleCommand(t *testing.T) {
	for _, vin := range []string{"5YJ3E1EA7PF000001", "7SAYGDEE1PF000002", "LRW3E7FA9NC000003"} {
		if got, want := fleet.BLELocalName(vin), vcble.VehicleLocalName(vin); got != want {
			t.Errorf("BLELocalName(%s) = %s, vehicle-command says %s", vin, got, want)
		}
	}
}

// The radio must not open anything before it is used: building one on a
// machine without Bluetooth (CI) is harmless.
func TestNewOpensNothing(t *testing.T) {
	r := New("hci0")
	if r.ready {
		t.Error("New opened the adapter")
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close of an unopened radio = %v", err)
	}
}

// Through the real radio on this machine: a car session reports the
// adapter problem itself (with its remedy), not "out of range", so the
// bridge can tell a setup mistake from a car that drove away.
func TestCarOverTheRealRadioReportsTheAdapter(t *testing.T) {
	if len(listAdapters("/sys/class/bluetooth")) > 0 {
		t.Skip("this machine has a Bluetooth adapter")
	}
	r := New("")
	defer func() { _ = r.Close() }()
	car, err := fleet.NewBLEVehicle(fleet.BLEOptions{VIN: "5YJ3E1EA7PF000001", Radio: r})
	if err != nil {
		t.Fatal(err)
	}
	defer car.Close()
	_, err = car.BodyControllerState(t.Context())
	var ae *fleet.AdapterError
	if !errors.As(err, &ae) || errors.Is(err, fleet.ErrBLEOutOfRange) {
		t.Fatalf("read = %v, want the adapter's problem", err)
	}
	if s := car.Status(); s.Connected || !errors.As(s.LastError, &ae) {
		t.Errorf("status = %+v, want the adapter error as LastError", s)
	}
}
