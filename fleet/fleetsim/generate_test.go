package fleetsim_test

import (
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// A generated fleet has the asked-for size, the same VINs every time, and
// the mix a scale bench relies on: some cars asleep, some charging, some
// driving, the rest awake.
func TestGeneratedFleet(t *testing.T) {
	t0 := clock.NewManual(time.Date(2026, 6, 15, 8, 0, 0, 0, time.UTC))
	s := fleetsim.New(fleetsim.Options{Clock: t0, Vehicles: 20, EnergySites: 4})
	vins, sites := s.VINs(), s.SiteIDs()
	if len(vins) != 20 || len(sites) != 4 {
		t.Fatalf("got %d cars and %d sites, want 20 and 4", len(vins), len(sites))
	}
	again := fleetsim.New(fleetsim.Options{Clock: t0, Vehicles: 20, EnergySites: 4}).VINs()
	seen := map[string]bool{}
	mix := map[string]int{}
	for i, vin := range vins {
		if vin != again[i] || vin != fleetsim.GeneratedVIN(i) || len(vin) != 17 {
			t.Errorf("car %d: VIN %q, second fleet %q", i, vin, again[i])
		}
		if seen[vin] {
			t.Errorf("VIN %s twice", vin)
		}
		seen[vin] = true
		snap := s.Snapshot(vin)
		switch {
		case snap.State == fleet.StateAsleep:
			mix["asleep"]++
		case snap.ChargingState == fleetsim.ChargingCharging:
			mix["charging"]++
		case snap.ShiftState == "D" && snap.Speed > 0:
			mix["driving"]++
		default:
			mix["parked"]++
		}
		if got := fleetsim.GeneratedMix(i); mix[got] == 0 {
			t.Errorf("car %d is not %s", i, got)
		}
	}
	if mix["asleep"] != 8 || mix["charging"] != 4 || mix["driving"] != 2 || mix["parked"] != 6 {
		t.Errorf("mix = %v, want 8 asleep, 4 charging, 2 driving, 6 parked", mix)
	}
	for j, id := range sites {
		if id != fleetsim.GeneratedSiteID(j) || s.Site(id).SiteName == "" {
			t.Errorf("site %d: id %d, snapshot %+v", j, id, s.Site(id))
		}
	}
}
