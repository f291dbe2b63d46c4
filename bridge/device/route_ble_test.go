package device

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/route"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// What a command that failed over Bluetooth does next: a command that
// never left (the link was down, or it exists only in the Fleet API) goes
// over the Fleet API under "prefer"; one that may have run, an unpaired
// key (one key list for both ways) and everything under "only" stay put.
// Under "only" out of range the car is offline.
func TestFallbackAfterBluetooth(t *testing.T) {
	mayHaveRun := fmt.Errorf("%w (%w: the link was closed)", fleet.ErrMayHaveSucceeded, fleet.ErrBLEOutOfRange)
	for _, tc := range []struct {
		policy fleet.BLERoute
		err    error
		want   string // via of the next route, "" for none
	}{
		{fleet.BLEPrefer, fleet.ErrBLEOutOfRange, entity.ViaFleet},
		{fleet.BLEPrefer, fmt.Errorf("wrapped: %w", fleet.ErrBLENeedsFleetAPI), entity.ViaFleet},
		{fleet.BLEPrefer, mayHaveRun, ""},
		{fleet.BLEPrefer, fleet.ErrBLEKeyNotPaired, ""},
		{fleet.BLEPrefer, nil, ""},
		{fleet.BLEOnly, fleet.ErrBLEOutOfRange, ""},
		{fleet.BLEOnly, fleet.ErrBLENeedsFleetAPI, ""},
	} {
		c := &car{cs: &cars{fleet: route.Fleet{}}, ble: &route.BLE{Policy: tc.policy}}
		next := c.fallback(c.ble, tc.err)
		got := ""
		if next != nil {
			got = next.Via()
		}
		if got != tc.want {
			t.Errorf("%s after %v: next %q, want %q", tc.policy, tc.err, got, tc.want)
		}
		if c.fallback(c.cs.fleet, tc.err) != nil {
			t.Errorf("%s: a Fleet API failure (%v) falls back", tc.policy, tc.err)
		}
	}
	only := &car{cs: &cars{fleet: route.Fleet{}}, ble: &route.BLE{Policy: fleet.BLEOnly}}
	if err := only.unreachable(only.ble, fleet.ErrBLEOutOfRange); !errors.Is(err, fleet.ErrOffline) {
		t.Errorf("only, out of range: %v, want offline", err)
	}
	if err := only.unreachable(only.ble, mayHaveRun); errors.Is(err, fleet.ErrOffline) || !fleet.MayHaveRun(err) {
		t.Errorf("only, may have run: %v, want it kept as unknown", err)
	}
}
