//go:build linux

package ble

import (
	"context"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	goble "github.com/go-ble/ble"
	"github.com/go-ble/ble/linux"
	"github.com/go-ble/ble/linux/hci/cmd"
	"github.com/teslamotors/vehicle-command/pkg/connector"
	vcble "github.com/teslamotors/vehicle-command/pkg/connector/ble"
	"golang.org/x/sys/unix"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Radio is the host's adapter driven by vehicle-command's connector/ble.
// vehicle-command keeps one adapter per process (a package-level device),
// so every car of the process shares it; config validation makes sure all
// cars name the same adapter. Opening it takes the adapter away from BlueZ
// for as long as the process runs (the HCI user channel is exclusive).
type Radio struct {
	adapter string

	mu    sync.Mutex
	ready bool
	// found keeps each car's last advertisement, so Dial connects to it
	// without scanning a second time.
	found map[string]*vcble.ScanResult
}

var _ fleet.BLERadio = (*Radio)(nil)

// New returns the radio on adapter ("hci0"…; "" = the first). It opens
// nothing until the first Scan or Dial.
func New(adapter string) *Radio {
	return &Radio{adapter: adapter, found: map[string]*vcble.ScanResult{}}
}

// Check runs the preflight: Bluetooth sockets, the adapter, CAP_NET_ADMIN.
// It returns a *fleet.AdapterError naming the fix, or nil.
func Check(adapter string) error {
	fd, err := unix.Socket(unix.AF_BLUETOOTH, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.BTPROTO_HCI)
	if err == nil {
		_ = unix.Close(fd)
	}
	status, _ := os.ReadFile("/proc/self/status")
	return checkHost(adapter, err, listAdapters("/sys/class/bluetooth"), string(status))
}

// open checks the host and opens the adapter once.
func (r *Radio) open() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready {
		return nil
	}
	if err := Check(r.adapter); err != nil {
		return err
	}
	if err := vcble.InitAdapterWithID(r.adapter); err != nil {
		return classifyInit(r.adapter, err)
	}
	r.ready = true
	return nil
}

// Scan waits for the car's beacon until ctx ends; not seeing it is not an error.
func (r *Radio) Scan(ctx context.Context, vin string) (bool, int, error) {
	if err := r.open(); err != nil {
		return false, 0, err
	}
	res, err := vcble.ScanVehicleBeacon(ctx, vin)
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, nil
		}
		return false, 0, classifyInit(r.adapter, err)
	}
	r.mu.Lock()
	r.found[vin] = res
	r.mu.Unlock()
	return true, int(res.RSSI), nil
}

// Dial connects to the car, to the beacon the last Scan saw when there is one.
func (r *Radio) Dial(ctx context.Context, vin string) (connector.Connector, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	target := r.found[vin]
	delete(r.found, vin)
	r.mu.Unlock()
	conn, err := vcble.NewConnectionFromScanResult(ctx, vin, target)
	if err != nil {
		if vcble.IsAdapterError(err) {
			return nil, classifyInit(r.adapter, err)
		}
		return nil, err
	}
	return conn, nil
}

// Close releases the adapter (BlueZ may take it back).
func (r *Radio) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		return nil
	}
	r.ready = false
	return vcble.CloseAdapter()
}

// Beacons scans every car's beacon until ctx ends, on a device of its own:
// vehicle-command only looks for one VIN at a time. It is for `tesla2mqtt
// ble scan`, a process of its own; in a process whose Radio is open the
// adapter is taken and this fails with ErrBLEAdapterBusy.
func Beacons(ctx context.Context, adapter string) ([]fleet.BLEBeacon, error) {
	if err := Check(adapter); err != nil {
		return nil, err
	}
	opts := []goble.Option{goble.OptScanParams(cmd.LESetScanParameters{
		LEScanType: 1, LEScanInterval: 0x10, LEScanWindow: 0x10, OwnAddressType: 0, ScanningFilterPolicy: 0,
	})}
	if adapter != "" {
		id, _ := strconv.Atoi(strings.TrimPrefix(adapter, "hci"))
		opts = append(opts, goble.OptDeviceID(id))
	}
	dev, err := linux.NewDeviceWithName("tesla2mqtt", opts...)
	if err != nil {
		return nil, classifyInit(adapter, err)
	}
	defer func() { _ = dev.Stop() }()
	var mu sync.Mutex
	seen := map[string]*fleet.BLEBeacon{}
	err = dev.Scan(ctx, true, func(a goble.Advertisement) {
		name := a.LocalName()
		if !IsCarBeacon(name) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		b := seen[name]
		if b == nil {
			b = &fleet.BLEBeacon{LocalName: name, Address: a.Addr().String(), RSSI: a.RSSI()}
			seen[name] = b
		}
		b.RSSI = max(b.RSSI, a.RSSI())
		b.Connectable = b.Connectable || a.Connectable()
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return nil, classifyInit(adapter, err)
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]fleet.BLEBeacon, 0, len(seen))
	for _, b := range seen {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RSSI > out[j].RSSI })
	return out, nil
}
