//go:build !linux

package ble

import (
	"context"
	"errors"

	"github.com/teslamotors/vehicle-command/pkg/connector"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Radio is the host's adapter; tesla2mqtt drives adapters on Linux only
// (raw HCI), so elsewhere every call reports ErrBLEUnsupported.
type Radio struct{ adapter string }

var _ fleet.BLERadio = (*Radio)(nil)

var errNotLinux = errors.New("tesla2mqtt drives Bluetooth adapters on Linux only")

// New returns the radio on adapter.
func New(adapter string) *Radio { return &Radio{adapter: adapter} }

// Check reports that this system has no supported Bluetooth.
func Check(adapter string) error {
	return adapterError(fleet.ErrBLEUnsupported, adapter, errNotLinux)
}

// Scan fails: no Bluetooth here.
func (r *Radio) Scan(context.Context, string) (bool, int, error) { return false, 0, Check(r.adapter) }

// Dial fails: no Bluetooth here.
func (r *Radio) Dial(context.Context, string) (connector.Connector, error) {
	return nil, Check(r.adapter)
}

// Close does nothing.
func (r *Radio) Close() error { return nil }

// Beacons fails: no Bluetooth here.
func Beacons(_ context.Context, adapter string) ([]fleet.BLEBeacon, error) {
	return nil, Check(adapter)
}
