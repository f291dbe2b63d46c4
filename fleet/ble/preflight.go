// Package ble drives the host's Bluetooth adapter for fleet's BLE path:
// Radio implements fleet.BLERadio with vehicle-command's pkg/connector/ble
// (go-ble over a raw HCI socket, Linux only, no cgo). It also checks the
// adapter before using it, so a missing adapter or permission is reported
// with the fix for the user's install path instead of as a socket error.
//
// Only cmd imports this package: the bridge and the tests reach the radio
// through fleet.BLERadio, so go-ble stays out of their builds.
package ble

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Remedies, one per adapter problem, naming each install path
// (docs/ble.md has the details).
const (
	RemedyUnsupported = "The kernel offers no Bluetooth to this process. Load the module (modprobe bluetooth) " +
		"or enable the built-in radio; under systemd add AF_BLUETOOTH to RestrictAddressFamilies; in Docker run " +
		"with --net=host (Bluetooth sockets exist only in the host's network namespace); for the Home Assistant " +
		"add-on enable host_network."
	RemedyNoAdapter = "Plug in a Bluetooth adapter or enable the built-in one, check it with `bluetoothctl list` " +
		"or `ls /sys/class/bluetooth`, and set [vehicle.ble] adapter to one that exists (\"hci0\", \"hci1\"…)."
	RemedyPermission = "Driving the adapter directly (raw HCI) needs CAP_NET_ADMIN and CAP_NET_RAW. " +
		"Bare metal: sudo setcap 'cap_net_admin,cap_net_raw+ep' \"$(command -v tesla2mqtt)\". " +
		"systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW and CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW. " +
		"Docker: --cap-add NET_ADMIN --cap-add NET_RAW --net=host --user 0:0. " +
		"Home Assistant add-on: privileged NET_ADMIN and NET_RAW with host_network."
	RemedyBusy = "The adapter's raw channel is exclusive: stop the other program using it (another tesla2mqtt, " +
		"`tesla2mqtt ble` while the bridge runs) or give each its own adapter."
)

// adapterName is "hci0" … "hci15", what the kernel and vehicle-command call adapters.
var adapterName = regexp.MustCompile(`^hci([0-9]|1[0-5])$`)

// ValidAdapter reports whether name is an adapter id the radio accepts ("" = the first adapter).
func ValidAdapter(name string) bool { return name == "" || adapterName.MatchString(name) }

// listAdapters returns the adapters under a /sys/class/bluetooth
// directory, sorted; connection entries ("hci0:3585") are not adapters.
func listAdapters(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if adapterName.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(out[i], "hci"))
		b, _ := strconv.Atoi(strings.TrimPrefix(out[j], "hci"))
		return a < b
	})
	return out
}

// capNetAdmin is CAP_NET_ADMIN's bit in /proc/<pid>/status.
const capNetAdmin = 12

// hasCapability reports whether the CapEff line of a /proc/<pid>/status
// text has bit set; false when the line is missing or unreadable.
func hasCapability(status string, bit uint) bool {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		hexMask, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hexMask), 16, 64)
		return err == nil && mask&(1<<bit) != 0
	}
	return false
}

// checkHost is the preflight with the system's answers passed in, so
// tests can play any host: the socket error, the sysfs adapters and the
// process's status text.
func checkHost(adapter string, socketErr error, adapters []string, status string) error {
	switch {
	case errors.Is(socketErr, syscall.EPERM), errors.Is(socketErr, syscall.EACCES):
		return adapterError(fleet.ErrBLEPermission, adapter, socketErr)
	case socketErr != nil:
		return adapterError(fleet.ErrBLEUnsupported, adapter, socketErr)
	case len(adapters) == 0:
		return adapterError(fleet.ErrBLENoAdapter, adapter, errors.New("no hciN adapter in /sys/class/bluetooth"))
	case adapter != "" && !contains(adapters, adapter):
		return adapterError(fleet.ErrBLENoAdapter, adapter, fmt.Errorf("this machine has %s", strings.Join(adapters, ", ")))
	case !hasCapability(status, capNetAdmin):
		return adapterError(fleet.ErrBLEPermission, adapter, errors.New("the process lacks CAP_NET_ADMIN"))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// adapterError builds the *fleet.AdapterError for kind with its remedy.
func adapterError(kind error, adapter string, cause error) error {
	remedy := map[error]string{
		fleet.ErrBLEUnsupported: RemedyUnsupported, fleet.ErrBLENoAdapter: RemedyNoAdapter,
		fleet.ErrBLEPermission: RemedyPermission, fleet.ErrBLEAdapterBusy: RemedyBusy,
	}[kind]
	detail := ""
	if cause != nil {
		detail = cause.Error()
	}
	return &fleet.AdapterError{Kind: kind, Adapter: adapter, Detail: detail, Remedy: remedy}
}

// classifyInit sorts a failure to open the adapter that got past the
// preflight. vehicle-command formats go-ble's error into its own with %s,
// so the errno is lost and only its text is left to read; the preflight
// catches the usual causes with typed errors first, this is the fallback.
func classifyInit(adapter string, err error) error {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "operation not permitted"), strings.Contains(msg, "permission denied"):
		return adapterError(fleet.ErrBLEPermission, adapter, err)
	case strings.Contains(msg, "device or resource busy"):
		return adapterError(fleet.ErrBLEAdapterBusy, adapter, err)
	case strings.Contains(msg, "no devices available"), strings.Contains(msg, "no such device"),
		strings.Contains(msg, "adapter id is invalid"):
		return adapterError(fleet.ErrBLENoAdapter, adapter, err)
	case strings.Contains(msg, "address family not supported"):
		return adapterError(fleet.ErrBLEUnsupported, adapter, err)
	}
	return fmt.Errorf("bluetooth adapter %q: %w", adapter, err)
}

// teslaName matches a car's beacon: "S" + 16 lower-case hex digits + "C".
var teslaName = regexp.MustCompile(`^S[0-9a-f]{16}C$`)

// IsCarBeacon reports whether a BLE local name is a Tesla car's.
func IsCarBeacon(localName string) bool { return teslaName.MatchString(localName) }
