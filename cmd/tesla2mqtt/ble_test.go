package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

const (
	bleVINRed  = "5YJ3E1EA7PF000001" // fleetsim's "Red Three"
	bleVINBlue = "7SAYGDEE1PF000002" // fleetsim's "Blue Y"
)

// simBLE is a simulated garage: fleetsim's cars, its radio and a manual clock.
type simBLE struct {
	sim   *fleetsim.Sim
	clock *clock.Manual
	env   bleEnv
	dir   string
}

func newSimBLE(t *testing.T) *simBLE {
	t.Helper()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clk})
	s := &simBLE{sim: sim, clock: clk, dir: t.TempDir()}
	s.env = bleEnv{
		radio:   func(string) (fleet.BLERadio, func()) { return sim.BLERadio(), func() {} },
		beacons: func(ctx context.Context, _ string) ([]fleet.BLEBeacon, error) { return sim.BLERadio().Beacons(ctx) },
		clock:   clk,
	}
	return s
}

// config writes a config whose [tesla] key is a fresh app key, and returns its path.
func (s *simBLE) config(t *testing.T, extra string) string {
	t.Helper()
	priv, _, err := fleet.GenerateKey(filepath.Join(s.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf("state_dir = %q\n[tesla]\nprivate_key_file = %q\n%s", filepath.Join(s.dir, "state"), priv, extra)
	path := filepath.Join(s.dir, "config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tapWriter is the user at the car: they read the output and tap the key
// card once the command asks for it.
type tapWriter struct {
	bytes.Buffer
	tap func()
}

func (w *tapWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "tap your key card") && w.tap != nil {
		w.tap()
	}
	return w.Buffer.Write(p)
}

func TestBLEScanNamesConfiguredCars(t *testing.T) {
	s := newSimBLE(t)
	s.sim.SetBLERange(bleVINRed, true, -71)
	s.sim.SetBLERange(bleVINBlue, true, -52)
	path := s.config(t, "[[vehicle]]\nvin = \""+bleVINBlue+"\"\nname = \"garage\"\n[vehicle.ble]\nenabled = true\nadapter = \"hci0\"\n")
	var out, errOut bytes.Buffer
	err := runBLE(context.Background(), s.env, []string{"scan", "-c", path, "--vin", "5YJ3E1EA7KF000009", "--timeout", "3s"}, &out, &errOut)
	if err != nil {
		t.Fatalf("scan = %v\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"on hci0 for 3s",
		bleVINBlue + " (garage)", "-52 dBm",
		"unknown car", "-71 dBm",
		"2 car(s) in range.",
		"Not seen: 5YJ3E1EA7KF000009",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scan output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "-52 dBm") > strings.Index(got, "-71 dBm") {
		t.Errorf("the stronger beacon is not listed first:\n%s", got)
	}
}

func TestBLEPairTapsTheCard(t *testing.T) {
	s := newSimBLE(t)
	if err := s.sim.SetVehicleState(bleVINBlue, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	s.sim.SetBLERange(bleVINBlue, true, -60)
	path := s.config(t, "")
	out := &tapWriter{tap: func() {
		if err := s.sim.TapKeyCard(bleVINBlue); err != nil {
			t.Error(err)
		}
	}}
	var errOut bytes.Buffer
	if err := runBLE(context.Background(), s.env, []string{"pair", "-c", path, "--vin", bleVINBlue}, out, &errOut); err != nil {
		t.Fatalf("pair = %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"Sent the add-key request", "tap your key card on the center console", "Paired: " + bleVINBlue} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if st := s.sim.VehicleState(bleVINBlue); st != fleet.StateAsleep {
		t.Errorf("pairing left the car %s, want it asleep", st)
	}
	// Again: nothing to do, no second request.
	out2 := &tapWriter{tap: func() { t.Error("asked for a tap again") }}
	if err := runBLE(context.Background(), s.env, []string{"pair", "-c", path, "--vin", bleVINBlue}, out2, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out2.String(), "already knows this app's key") {
		t.Errorf("second pair said:\n%s", out2.String())
	}
}

func TestBLEPairErrorsNameTheFix(t *testing.T) {
	s := newSimBLE(t)
	path := s.config(t, "")
	s.sim.SetBLERange(bleVINRed, true, -60)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad vin", []string{"pair", "-c", path, "--vin", "abc"}, 2, "not a VIN"},
		{"out of range", []string{"pair", "-c", path, "--vin", bleVINBlue}, 1, "ble scan --vin " + bleVINBlue},
		{"no tap", []string{"pair", "-c", path, "--vin", bleVINRed, "--timeout", "30s"}, 1, "no key-card tap confirmed the request within 30s"},
		{"bad adapter", []string{"pair", "-c", path, "--vin", bleVINRed, "--adapter", "bt0"}, 2, "hci0, hci1"},
		{"unknown subcommand", []string{"unpair"}, 2, "unknown subcommand"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		err := runBLE(context.Background(), s.env, c.args, &out, &errOut)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want exit %d saying %q", c.name, err, c.code, c.want)
		}
	}
	noKey := filepath.Join(s.dir, "nokey.toml")
	if err := os.WriteFile(noKey, []byte("state_dir = \""+filepath.Join(s.dir, "state")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := runBLE(context.Background(), s.env, []string{"pair", "-c", noKey, "--vin", bleVINRed}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "tesla2mqtt keygen") {
		t.Errorf("pair without a key = %v, want the keygen hint", err)
	}
}

// On this machine, through the real radio: no adapter (CI has none), so
// the command must say what is missing and how to fix it, not crash.
func TestBLEScanWithoutAdapterOnThisMachine(t *testing.T) {
	if entries, _ := os.ReadDir("/sys/class/bluetooth"); len(entries) > 0 {
		t.Skip("this machine has a Bluetooth adapter")
	}
	var out, errOut bytes.Buffer
	code := run([]string{"ble", "scan", "--timeout", "1s"}, &out, &errOut)
	msg := errOut.String()
	if code != 1 || !strings.Contains(msg, "Bluetooth") || !strings.Contains(msg, "--net=host") && !strings.Contains(msg, "setcap") &&
		!strings.Contains(msg, "bluetoothctl") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 with the problem and its fix", code, msg)
	}
}

func TestBLECarConfigsFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Vehicles = []config.Vehicle{
		{VIN: bleVINRed, BLE: config.VehicleBLE{Enabled: true}},
		{VIN: bleVINBlue, BLE: config.VehicleBLE{Enabled: true, Adapter: "hci1", Route: "only"}},
		{VIN: "5YJ3E1EA7KF000009"},
	}
	got := bleCarConfigs(&cfg)
	want := []fleet.BLECarConfig{{VIN: bleVINRed, Route: fleet.BLEPrefer}, {VIN: bleVINBlue, Adapter: "hci1", Route: fleet.BLEOnly}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bleCarConfigs = %+v, want %+v", got, want)
	}
}
