package ble

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// A process status with and without CAP_NET_ADMIN (bit 12).
const (
	statusRoot  = "Name:\ttesla2mqtt\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
	statusPlain = "Name:\ttesla2mqtt\nCapEff:\t0000000000000000\n"
	statusNetAd = "CapEff:\t0000000000001000\n"
)

func TestPreflightNamesTheFix(t *testing.T) {
	cases := []struct {
		name     string
		adapter  string
		sockErr  error
		adapters []string
		status   string
		kind     error
		remedy   string // a phrase the user needs to see
	}{
		{"no bluetooth in the namespace", "", syscall.EAFNOSUPPORT, nil, statusRoot, fleet.ErrBLEUnsupported, "--net=host"},
		{"systemd filters the family", "", syscall.EAFNOSUPPORT, []string{"hci0"}, statusRoot, fleet.ErrBLEUnsupported, "AF_BLUETOOTH"},
		{"socket refused", "", syscall.EPERM, []string{"hci0"}, statusPlain, fleet.ErrBLEPermission, "setcap"},
		{"no adapter", "", nil, nil, statusRoot, fleet.ErrBLENoAdapter, "bluetoothctl list"},
		{"wrong adapter", "hci1", nil, []string{"hci0"}, statusRoot, fleet.ErrBLENoAdapter, "hci0"},
		{"no capability", "hci0", nil, []string{"hci0"}, statusPlain, fleet.ErrBLEPermission, "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW"},
		{"status unreadable", "", nil, []string{"hci0"}, "", fleet.ErrBLEPermission, "--cap-add NET_ADMIN"},
	}
	for _, c := range cases {
		err := checkHost(c.adapter, c.sockErr, c.adapters, c.status)
		var ae *fleet.AdapterError
		if !errors.Is(err, c.kind) || !errors.As(err, &ae) {
			t.Errorf("%s: err = %v, want %v as an AdapterError", c.name, err, c.kind)
			continue
		}
		if !strings.Contains(err.Error(), c.remedy) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.remedy)
		}
	}
	for _, status := range []string{statusRoot, statusNetAd} {
		if err := checkHost("hci0", nil, []string{"hci0", "hci1"}, status); err != nil {
			t.Errorf("a ready host failed the preflight: %v", err)
		}
	}
}

func TestListAdaptersIgnoresConnections(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"hci10", "hci0", "hci0:3585", "rfkill0", "hci2"} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(listAdapters(dir), ","); got != "hci0,hci2,hci10" {
		t.Errorf("adapters = %s, want hci0,hci2,hci10", got)
	}
	if got := listAdapters(filepath.Join(dir, "missing")); got != nil {
		t.Errorf("adapters of a missing directory = %v", got)
	}
}

func TestClassifyInitFallsBackToTheSDKText(t *testing.T) {
	for msg, kind := range map[string]error{
		"ble: failed to enable device: can't down device: operation not permitted":                     fleet.ErrBLEPermission,
		"ble: failed to enable device: can't bind socket to hci user channel: device or resource busy": fleet.ErrBLEAdapterBusy,
		"ble: failed to enable device: no devices available: ":                                         fleet.ErrBLENoAdapter,
	} {
		if err := classifyInit("hci0", errors.New(msg)); !errors.Is(err, kind) {
			t.Errorf("%q → %v, want %v", msg, err, kind)
		}
	}
	other := errors.New("ble: something new")
	if err := classifyInit("", other); !errors.Is(err, other) {
		t.Errorf("unknown failure lost its cause: %v", err)
	}
}

func TestAdapterNamesAndBeacons(t *testing.T) {
	for name, ok := range map[string]bool{"": true, "hci0": true, "hci15": true, "hci16": false, "hci": false, "bt0": false} {
		if ValidAdapter(name) != ok {
			t.Errorf("ValidAdapter(%q) = %v", name, !ok)
		}
	}
	// protocol.md's example: VIN 5YJS0000000000000 advertises S1a87a5a75f3df858C.
	if n := fleet.BLELocalName("5YJS0000000000000"); n != "S1a87a5a75f3df858C" || !IsCarBeacon(n) {
		t.Errorf("local name %q", n)
	}
	if IsCarBeacon("S1A87A5A75F3DF858C") || IsCarBeacon("Tesla Model 3") {
		t.Error("a name that is not a car's passed")
	}
}

// This machine's own answer: with no adapter the preflight must say so
// with a remedy, whatever the reason (in CI: no Bluetooth in the kernel).
func TestCheckOnThisMachine(t *testing.T) {
	if len(listAdapters("/sys/class/bluetooth")) > 0 {
		t.Skip("this machine has a Bluetooth adapter")
	}
	err := Check("")
	var ae *fleet.AdapterError
	if !errors.As(err, &ae) || ae.Remedy == "" {
		t.Fatalf("Check on a machine without an adapter = %v, want an AdapterError with a remedy", err)
	}
	t.Logf("this machine: %v", err)
}
