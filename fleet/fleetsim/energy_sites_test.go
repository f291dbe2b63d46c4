package fleetsim

import (
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

const (
	solarSiteID = "1000000002"
	pw3SiteID   = "1000000003"
)

func (e *env) liveStatusOf(id string) (fleet.LiveStatus, map[string]any) {
	e.t.Helper()
	r := e.get("/api/1/energy_sites/" + id + "/live_status")
	raw := r.want(e.t, http.StatusOK)
	var ls fleet.LiveStatus
	r.decode(e.t, &ls)
	return ls, raw
}

func (e *env) siteInfoOf(id string) fleet.SiteInfo {
	e.t.Helper()
	r := e.get("/api/1/energy_sites/" + id + "/site_info")
	r.want(e.t, http.StatusOK)
	var si fleet.SiteInfo
	r.decode(e.t, &si)
	return si
}

func TestSolarOnlySite(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(berlin(t, 16, 13, 0))
	ls, raw := e.liveStatusOf(solarSiteID)
	if *ls.SolarPower < 2000 || *ls.BatteryPower != 0 || *ls.BackupCapable || ls.EnergyLeft != nil ||
		len(ls.WallConnectors) != 0 || math.Abs(*ls.LoadPower-(*ls.SolarPower+*ls.GridPower)) > 1 {
		t.Fatalf("solar-only live_status = %v", raw)
	}
	si := e.siteInfoOf(solarSiteID)
	c := si.Components
	if c == nil || *c.Battery || *c.StormModeCapable || *c.OffGridVehicleChargingReserveSupported ||
		si.BackupReservePercent != nil || c.CustomerPreferredExportRule != nil {
		t.Fatalf("solar-only site_info = %+v / %+v", si, c)
	}
	// Every battery control is refused, and the site does not change.
	for _, cmd := range []struct{ path, body string }{
		{"backup", `{"backup_reserve_percent": 50}`},
		{"operation", `{"default_real_mode": "autonomous"}`},
		{"storm_mode", `{"enabled": true}`},
		{"grid_import_export", `{"customer_preferred_export_rule": "never"}`},
		{"off_grid_vehicle_charging_reserve", `{"off_grid_vehicle_charging_reserve_percent": 30}`},
	} {
		e.post("/api/1/energy_sites/"+solarSiteID+"/"+cmd.path, cmd.body).wantError(t, 400, reasonNoBattery)
	}
	if s := e.sim.Site(1000000002); s.DefaultRealMode != "" || s.BackupReservePercent != 0 || s.StormModeEnabled {
		t.Fatalf("solar-only site changed: %+v", s)
	}
}

func TestPowerwall3SiteLacksEnergyLeft(t *testing.T) {
	e := newEnv(t)
	ls, raw := e.liveStatusOf(pw3SiteID)
	if _, has := raw["energy_left"]; has {
		t.Errorf("energy_left present: %v", raw)
	}
	if _, has := raw["total_pack_energy"]; has || ls.PercentageCharged == nil || ls.BatteryPower == nil {
		t.Errorf("live_status = %v", raw)
	}
	si := e.siteInfoOf(pw3SiteID)
	if !*si.Components.Battery || *si.Components.OffGridVehicleChargingReserveSupported {
		t.Errorf("components = %+v", si.Components)
	}
	e.post("/api/1/energy_sites/"+pw3SiteID+"/off_grid_vehicle_charging_reserve",
		`{"off_grid_vehicle_charging_reserve_percent": 30}`).wantError(t, 400, reasonUnsupported)
	e.post("/api/1/energy_sites/"+pw3SiteID+"/operation", `{"default_real_mode": "self_consumption"}`).want(t, 200)
	if got := e.siteInfoOf(pw3SiteID).DefaultRealMode; *got != "self_consumption" {
		t.Errorf("operation mode = %v", *got)
	}
}

func TestEnergyCommandsChangeTheSite(t *testing.T) {
	e := newEnv(t)
	path := func(name string) string { return "/api/1/energy_sites/" + siteID + "/" + name }
	for _, c := range []struct {
		name, body string
		check      func(SiteSnapshot) bool
	}{
		{"operation", `{"default_real_mode": "autonomous"}`, func(s SiteSnapshot) bool { return s.DefaultRealMode == "autonomous" }},
		{"operation", `{"default_real_mode": "backup"}`, func(s SiteSnapshot) bool { return s.DefaultRealMode == "backup" }},
		{"storm_mode", `{"enabled": true}`, func(s SiteSnapshot) bool { return s.StormModeEnabled }},
		{"grid_import_export", `{"customer_preferred_export_rule": "battery_ok"}`,
			func(s SiteSnapshot) bool {
				return s.CustomerPreferredExportRule == "battery_ok" && s.DisallowChargeFromGridWithSolar
			}},
		{"grid_import_export", `{"disallow_charge_from_grid_with_solar_installed": false}`,
			func(s SiteSnapshot) bool {
				return s.CustomerPreferredExportRule == "battery_ok" && !s.DisallowChargeFromGridWithSolar
			}},
		{"off_grid_vehicle_charging_reserve", `{"off_grid_vehicle_charging_reserve_percent": 40}`,
			func(s SiteSnapshot) bool { return s.OffGridVehicleChargingReservePercent == 40 }},
	} {
		resp := e.post(path(c.name), c.body).want(t, http.StatusOK)
		if resp["code"] != 201.0 || resp["message"] != "Updated" {
			t.Errorf("%s answered %v", c.name, resp)
		}
		if s := e.sim.Site(1000000001); !c.check(s) {
			t.Errorf("after %s %s: %+v", c.name, c.body, s)
		}
	}
	// site_info reflects the settings the bridge reads back.
	si := e.siteInfoOf(siteID)
	if *si.DefaultRealMode != "backup" || !*si.UserSettings.StormModeEnabled ||
		*si.Components.CustomerPreferredExportRule != "battery_ok" ||
		*si.Components.DisallowChargeFromGridWithSolarInstalled || *si.OffGridVehicleChargingReservePercent != 40 {
		t.Errorf("site_info after commands = %+v", si)
	}
	// Bad bodies are refused without a change.
	for _, c := range []struct{ name, body string }{
		{"operation", `{"default_real_mode": "eco"}`},
		{"storm_mode", `{"enabled": "yes"}`},
		{"grid_import_export", `{}`},
		{"grid_import_export", `{"customer_preferred_export_rule": "always", "disallow_charge_from_grid_with_solar_installed": true}`},
		{"off_grid_vehicle_charging_reserve", `{"off_grid_vehicle_charging_reserve_percent": 101}`},
	} {
		e.post(path(c.name), c.body).wantError(t, 400, reasonBadField)
	}
	if s := e.sim.Site(1000000001); s.DefaultRealMode != "backup" || s.DisallowChargeFromGridWithSolar ||
		s.OffGridVehicleChargingReservePercent != 40 {
		t.Errorf("a refused command changed the site: %+v", s)
	}
}

func (e *env) history(id string, start, end time.Time, tz string) fleet.CalendarHistory {
	e.t.Helper()
	q := url.Values{"kind": {"energy"}, "period": {"day"}, "start_date": {start.Format(time.RFC3339)},
		"end_date": {end.Format(time.RFC3339)}, "time_zone": {tz}}
	r := e.get("/api/1/energy_sites/" + id + "/calendar_history?" + q.Encode())
	r.want(e.t, http.StatusOK)
	var h fleet.CalendarHistory
	r.decode(e.t, &h)
	return h
}

func sum(items []fleet.EnergyHistoryItem, f func(fleet.EnergyHistoryItem) *float64) float64 {
	var s float64
	for _, it := range items {
		if v := f(it); v != nil {
			s += *v
		}
	}
	return s
}

// A full simulated day: the solar buckets add up to the integral of the
// curve, every bucket balances, and the battery counters match the state
// of charge the live endpoint showed.
func TestCalendarHistoryMatchesTheCurve(t *testing.T) {
	e := newEnv(t)
	day := berlin(t, 16, 0, 0)
	e.clock.Set(day)
	start := e.sim.Site(1000000001).PercentageCharged
	e.clock.Set(day.Add(24 * time.Hour))
	end := e.sim.Site(1000000001).PercentageCharged
	h := e.history(siteID, day, day.Add(24*time.Hour-time.Second), "Europe/Berlin")
	if len(h.TimeSeries) != 96 || h.Period != "day" || h.InstallationTimeZone != "Europe/Berlin" {
		t.Fatalf("%d buckets, period %q, zone %q", len(h.TimeSeries), h.Period, h.InstallationTimeZone)
	}
	if h.TimeSeries[0].Timestamp != "2026-06-16T00:00:00+02:00" || h.TimeSeries[52].Timestamp != "2026-06-16T13:00:00+02:00" {
		t.Errorf("timestamps %s … %s", h.TimeSeries[0].Timestamp, h.TimeSeries[52].Timestamp)
	}
	e.sim.mu.Lock()
	st := e.sim.siteByID(1000000001)
	var integral float64
	for ts := day; ts.Before(day.Add(24 * time.Hour)); ts = ts.Add(10 * time.Second) {
		integral += st.solar(ts) * (10.0 / 3600)
	}
	e.sim.mu.Unlock()
	solar := sum(h.TimeSeries, func(i fleet.EnergyHistoryItem) *float64 { return i.TotalSolarGeneration })
	if integral < 20000 || math.Abs(solar-integral)/integral > 0.01 {
		t.Errorf("solar buckets sum to %.0f Wh, the curve integrates to %.0f Wh", solar, integral)
	}
	for _, it := range h.TimeSeries {
		in := *it.TotalSolarGeneration + *it.GridEnergyImported + *it.TotalBatteryDischarge
		out := *it.TotalHomeUsage + *it.TotalGridEnergyExported + *it.TotalBatteryCharge
		if math.Abs(in-out) > 1 {
			t.Fatalf("bucket %s does not balance: in %.1f, out %.1f", it.Timestamp, in, out)
		}
		home := *it.ConsumerEnergyImportedFromSolar + *it.ConsumerEnergyImportedFromBattery + *it.ConsumerEnergyImportedFromGrid
		if math.Abs(home-*it.TotalHomeUsage) > 1 {
			t.Fatalf("bucket %s: home sources %.1f != usage %.1f", it.Timestamp, home, *it.TotalHomeUsage)
		}
	}
	charged := sum(h.TimeSeries, func(i fleet.EnergyHistoryItem) *float64 { return i.TotalBatteryCharge })
	discharged := sum(h.TimeSeries, func(i fleet.EnergyHistoryItem) *float64 { return i.TotalBatteryDischarge })
	if got, want := charged-discharged, (end-start)/100*13500; math.Abs(got-want) > 100 {
		t.Errorf("battery net %.0f Wh, state of charge moved %.0f Wh", got, want)
	}
}

// Today's history grows as the day goes on and never shrinks; a solar-only
// site reports no battery flows; buckets from before the simulator started
// are filled in from the curve.
func TestCalendarHistoryToday(t *testing.T) {
	e := newEnv(t) // 10:00 Berlin
	day := berlin(t, 15, 0, 0)
	h := e.history(siteID, day, day.Add(24*time.Hour-time.Second), "Europe/Berlin")
	if len(h.TimeSeries) != 40 { // 00:00 … 09:45
		t.Fatalf("%d buckets before 10:00", len(h.TimeSeries))
	}
	before := sum(h.TimeSeries, func(i fleet.EnergyHistoryItem) *float64 { return i.TotalSolarGeneration })
	if before < 1000 {
		t.Errorf("morning solar before start = %.0f Wh", before)
	}
	e.clock.Advance(7 * time.Minute)
	h2 := e.history(siteID, day, day.Add(24*time.Hour-time.Second), "Europe/Berlin")
	after := sum(h2.TimeSeries, func(i fleet.EnergyHistoryItem) *float64 { return i.TotalSolarGeneration })
	if len(h2.TimeSeries) != 41 || after <= before {
		t.Errorf("after 7 min: %d buckets, solar %.0f → %.0f", len(h2.TimeSeries), before, after)
	}
	hs := e.history(solarSiteID, day, day.Add(24*time.Hour-time.Second), "Europe/Berlin")
	if b := sum(hs.TimeSeries, func(i fleet.EnergyHistoryItem) *float64 { return i.TotalBatteryCharge }); b != 0 {
		t.Errorf("solar-only site charged a battery: %.0f Wh", b)
	}
	// A UTC client sees the same energy with UTC timestamps.
	hu := e.history(siteID, day, day.Add(24*time.Hour-time.Second), "UTC")
	if hu.TimeSeries[0].Timestamp != "2026-06-14T22:00:00+00:00" {
		t.Errorf("UTC timestamp %s", hu.TimeSeries[0].Timestamp)
	}
	r := e.get("/api/1/energy_sites/" + siteID + "/calendar_history?kind=energy&time_zone=Mars/Olympus")
	r.wantError(t, 400, "invalid_field")
	if n := e.sim.Counts()[fleet.CallCalendarHistory]; n != 5 {
		t.Errorf("calendar_history counted %d times", n)
	}
}
