package fleetsim

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func berlin(t *testing.T, day, hour, minute int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 6, day, hour, minute, 0, 0, loc)
}

func (e *env) liveStatus() fleet.LiveStatus {
	e.t.Helper()
	var ls fleet.LiveStatus
	r := e.get("/api/1/energy_sites/" + siteID + "/live_status")
	r.want(e.t, http.StatusOK)
	r.decode(e.t, &ls)
	return ls
}

func TestLiveStatusShapeAndSolarCurve(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(berlin(t, 16, 2, 0))
	night := e.liveStatus()
	if *night.SolarPower != 0 {
		t.Errorf("solar at 02:00 = %v", *night.SolarPower)
	}
	if *night.GridStatus != "Active" || *night.IslandStatus != "on_grid" || !*night.BackupCapable || *night.StormModeActive ||
		*night.TotalPackEnergy != 13500 || night.EnergyLeft == nil || night.Timestamp == nil ||
		len(night.WallConnectors) != 1 || night.WallConnectors[0].DIN != "1457768-02-G--TEST0001" ||
		*night.WallConnectors[0].State != 2 || *night.WallConnectors[0].Power != 0 {
		t.Errorf("live_status = %+v", night)
	}
	if ts, err := time.Parse(time.RFC3339, *night.Timestamp); err != nil || !ts.Equal(berlin(t, 16, 2, 0)) ||
		(*night.Timestamp)[19:] != "+02:00" {
		t.Errorf("timestamp = %q (%v)", *night.Timestamp, err)
	}
	e.clock.Set(berlin(t, 16, 13, 0))
	noon := e.liveStatus()
	if *noon.SolarPower <= 3000 || *noon.SolarPower > 6000 {
		t.Errorf("solar at 13:00 = %v", *noon.SolarPower)
	}

	// A day in 20-minute steps: balance, load range, SoC bounds.
	var maxSolar float64
	for i := 0; i < 72; i++ {
		e.clock.Advance(20 * time.Minute)
		ls := e.liveStatus()
		s, b, g, l := *ls.SolarPower, *ls.BatteryPower, *ls.GridPower, *ls.LoadPower
		if math.Abs(l-(s+b+g)) > 1 {
			t.Fatalf("%v: load %v != solar %v + battery %v + grid %v", e.clock.Now(), l, s, b, g)
		}
		if l < 600 || l > 1500 || s < 0 || *ls.PercentageCharged < 0 || *ls.PercentageCharged > 100 {
			t.Fatalf("%v: %+v", e.clock.Now(), ls)
		}
		if math.Abs(*ls.EnergyLeft-*ls.PercentageCharged/100*13500) > 1 {
			t.Fatalf("energy_left %v vs %v %%", *ls.EnergyLeft, *ls.PercentageCharged)
		}
		maxSolar = math.Max(maxSolar, s)
	}
	if maxSolar < 5000 {
		t.Errorf("peak solar over a day = %v", maxSolar)
	}
}

func TestBatteryPercentageMoves(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(berlin(t, 16, 10, 0))
	start := e.liveStatus()
	if *start.BatteryPower >= 0 {
		t.Fatalf("battery should charge from solar at 10:00: %v", *start.BatteryPower)
	}
	e.clock.Advance(time.Hour)
	later := e.liveStatus()
	if *later.PercentageCharged <= *start.PercentageCharged+10 {
		t.Fatalf("percentage %v → %v after an hour of surplus", *start.PercentageCharged, *later.PercentageCharged)
	}
	// By night it discharges, but never below the backup reserve (+ one step).
	e.clock.Set(berlin(t, 16, 22, 0))
	eve := e.liveStatus()
	e.clock.Advance(time.Hour)
	if night := e.liveStatus(); *night.PercentageCharged >= *eve.PercentageCharged || *eve.BatteryPower <= 0 {
		t.Fatalf("night: %v → %v (battery %v)", *eve.PercentageCharged, *night.PercentageCharged, *eve.BatteryPower)
	}
	e.clock.Advance(20 * time.Hour)
	if p := e.sim.Site(1000000001).PercentageCharged; p < 19 {
		t.Fatalf("below reserve: %v", p)
	}
}

func TestSiteInfoAndSettings(t *testing.T) {
	e := newEnv(t)
	r := e.get("/api/1/energy_sites/" + siteID + "/site_info")
	var si fleet.SiteInfo
	r.decode(t, &si)
	c := si.Components
	if *si.SiteName != "Home" || *si.BackupReservePercent != 20 || *si.DefaultRealMode != "self_consumption" ||
		*si.InstallationTimeZone != "Europe/Berlin" || si.UserSettings == nil || *si.UserSettings.StormModeEnabled ||
		*si.BatteryCount != 1 || *si.NameplateEnergy != 13500 || si.Version == nil || c == nil ||
		*c.CustomerPreferredExportRule != "pv_only" || !*c.DisallowChargeFromGridWithSolarInstalled ||
		!*c.OffGridVehicleChargingReserveSupported || !*c.StormModeCapable || len(c.WallConnectors) != 1 {
		t.Fatalf("site_info = %s", r.raw)
	}
	e.post("/api/1/energy_sites/"+siteID+"/backup", `{"backup_reserve_percent": 35}`).want(t, http.StatusOK)
	e.post("/api/1/energy_sites/"+siteID+"/backup", `{"backup_reserve_percent": 135}`).wantError(t, 400, "invalid_field")
	if got := e.sim.Site(1000000001).BackupReservePercent; got != 35 {
		t.Fatalf("backup reserve = %v", got)
	}
	if err := e.sim.UpdateSite(1000000001, func(s *SiteSnapshot) { s.GridStatus = "Inactive" }); err != nil {
		t.Fatal(err)
	}
	ls := e.liveStatus()
	if *ls.GridPower != 0 || *ls.IslandStatus == "on_grid" ||
		math.Abs(*ls.LoadPower-(*ls.SolarPower+*ls.BatteryPower)) > 1 {
		t.Fatalf("islanded: %+v", ls)
	}
	if err := e.sim.UpdateSite(7, func(*SiteSnapshot) {}); err == nil {
		t.Fatal("UpdateSite(unknown) succeeded")
	}
	if ids := e.sim.SiteIDs(); len(ids) != 3 || ids[0] != 1000000001 || ids[1] != 1000000002 || ids[2] != 1000000003 {
		t.Fatalf("SiteIDs = %v", ids)
	}
}
