package fleetsim

import (
	"math"
	"time"
	_ "time/tzdata" // the site's time zone must resolve even without system tzdata
)

// homeTimeZone is the installation_time_zone of the default site.
const homeTimeZone = "Europe/Berlin"

var homeLocation = loadLocation(homeTimeZone)

func loadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// SiteSnapshot holds the main simulated values of an energy site. Powers
// are in W with Tesla's signs (battery > 0 discharges, grid > 0 imports) and
// always balance: LoadPower = SolarPower + BatteryPower + GridPower. The
// powers are computed from the clock and are read-only in UpdateSite.
type SiteSnapshot struct {
	ID       int64
	SiteName string

	PercentageCharged                    float64 // %
	BackupReservePercent                 float64
	DefaultRealMode                      string // "self_consumption", "autonomous", "backup"
	StormModeEnabled                     bool
	CustomerPreferredExportRule          string // "pv_only", "battery_ok", "never"
	DisallowChargeFromGridWithSolar      bool
	OffGridVehicleChargingReservePercent float64
	GridStatus                           string // "Active"; anything else means a grid outage (island)

	SolarPower   float64
	LoadPower    float64
	BatteryPower float64
	GridPower    float64
}

// Kinds of simulated site: what hardware it has decides which fields its
// live_status carries and which energy commands it accepts.
const (
	sitePowerwall2 = "powerwall2" // Powerwall 2 + solar + Wall Connector
	siteSolarOnly  = "solar"      // solar panels only, no battery
	sitePowerwall3 = "powerwall3" // Powerwall 3: no energy_left/total_pack_energy
)

// siteSim is one simulated energy site. Guarded by Sim.mu. Energy command
// handlers change its settings fields.
type siteSim struct {
	id                          int64
	kind                        string
	name, uuid, gatewayID, tzID string
	tz                          *time.Location
	capacityWh, maxBatteryW     float64
	solarPeakW                  float64
	wallConnectorDIN            string // "" = none

	pct                   float64 // state of charge, %
	backupReserve         float64
	realMode              string
	stormEnabled          bool
	exportRule            string
	disallowGridCharge    bool
	offGridVehicleReserve float64
	gridStatus            string

	updated time.Time
	// created is when the simulator started; the ledger begins there.
	created time.Time
	// initialPct is the state of charge at creation; calendar_history uses
	// it for buckets from before the simulator ran.
	initialPct float64
	// ledger holds the energy that flowed per 15-minute bucket (by the
	// bucket's Unix start), recorded as the site advances.
	ledger map[int64]*energyBucket
}

func (st *siteSim) hasBattery() bool { return st.kind != siteSolarOnly }

// reportsEnergyLeft is false on Powerwall 3 sites, whose live_status lacks
// energy_left and total_pack_energy.
func (st *siteSim) reportsEnergyLeft() bool { return st.kind == sitePowerwall2 }

// defaultSites returns, in products order, the Powerwall 2 site "Home",
// the solar-only site "Cabin" and the Powerwall 3 site "Barn".
func defaultSites(now time.Time) []*siteSim {
	sites := []*siteSim{{
		id: 1000000001, kind: sitePowerwall2, name: "Home", uuid: "STE20240315-00001",
		gatewayID: "1232100-00-E--TG0123456789AB",
		tzID:      homeTimeZone, tz: homeLocation, capacityWh: 13500, maxBatteryW: 5000, solarPeakW: 6000,
		wallConnectorDIN: "1457768-02-G--TEST0001",
		pct:              55, backupReserve: 20, realMode: "self_consumption", exportRule: "pv_only",
		disallowGridCharge: true, gridStatus: "Active",
	}, {
		id: 1000000002, kind: siteSolarOnly, name: "Cabin", uuid: "STE20230601-00002",
		gatewayID: "1538000-00-A--SOLAR000002",
		tzID:      homeTimeZone, tz: homeLocation, solarPeakW: 4000, gridStatus: "Active",
	}, {
		id: 1000000003, kind: sitePowerwall3, name: "Barn", uuid: "STE20250210-00003",
		gatewayID: "1841000-01-A--TG3000000003",
		tzID:      homeTimeZone, tz: homeLocation, capacityWh: 13500, maxBatteryW: 11500, solarPeakW: 8000,
		pct: 80, backupReserve: 30, realMode: "autonomous", exportRule: "battery_ok", gridStatus: "Active",
	}}
	for _, st := range sites {
		st.updated, st.created, st.initialPct = now, now, st.pct
		st.ledger = map[int64]*energyBucket{}
	}
	return sites
}

// siteByID finds a site. Callers hold Sim.mu.
func (s *Sim) siteByID(id int64) *siteSim {
	for _, st := range s.sites {
		if st.id == id {
			return st
		}
	}
	return nil
}

func (st *siteSim) onGrid() bool { return st.gridStatus == "Active" }

// solar is the PV output at t: a sine-shaped day from 06:00 to 20:00 site
// time peaking at 13:00, with a slow ±4 % "cloud" ripple.
func (st *siteSim) solar(t time.Time) float64 {
	lt := t.In(st.tz)
	h := float64(lt.Hour()) + float64(lt.Minute())/60 + float64(lt.Second())/3600
	if h <= 6 || h >= 20 {
		return 0
	}
	shape := math.Pow(math.Sin(math.Pi*(h-6)/14), 1.5)
	cloud := 0.96 + 0.04*math.Sin(2*math.Pi*float64(t.Unix())/2400)
	return st.solarPeakW * shape * cloud
}

// load is the house consumption at t: 600–1500 W, varying smoothly.
func (st *siteSim) load(t time.Time) float64 {
	sec := float64(t.Unix())
	return 1050 + 300*math.Sin(2*math.Pi*sec/(3*3600)) + 150*math.Sin(2*math.Pi*sec/(17*60))
}

// powers returns whole-watt powers at t for state of charge pct. The battery
// covers the gap between solar and load (self-consumption) within its power
// limit, the backup reserve and 100 %; the grid takes the rest, so the
// balance load = solar + battery + grid holds exactly.
func (st *siteSim) powers(t time.Time, pct float64) (solar, load, battery, grid float64) {
	solar, load = math.Round(st.solar(t)), math.Round(st.load(t))
	net := load - solar // > 0: deficit
	switch {
	case !st.hasBattery():
	case net > 0 && pct > 0 && (!st.onGrid() || (st.realMode != "backup" && pct > st.backupReserve)):
		battery = math.Min(net, st.maxBatteryW)
	case net < 0 && pct < 100:
		battery = -math.Min(-net, st.maxBatteryW)
	}
	if !st.onGrid() {
		// Islanded: no grid; surplus solar is curtailed.
		if solar > load-battery {
			solar = load - battery
		}
		return solar, load, battery, 0
	}
	return solar, load, battery, load - solar - battery
}

// advance integrates the battery's state of charge from st.updated to now
// in steps of at most one minute.
func (st *siteSim) advance(now time.Time) {
	if !now.After(st.updated) {
		return
	}
	total := now.Sub(st.updated)
	step := time.Minute
	if total/step > 20000 {
		step = total / 20000
	}
	for t := st.updated; t.Before(now); {
		d := min(step, now.Sub(t))
		solar, load, battery, grid := st.powers(t, st.pct)
		st.record(t, d, solar, load, battery, grid)
		if st.hasBattery() {
			st.pct -= battery * d.Hours() / st.capacityWh * 100
			st.pct = math.Max(0, math.Min(100, st.pct))
		}
		t = t.Add(d)
	}
	st.updated = now
}

func (st *siteSim) snapshot() SiteSnapshot {
	solar, load, battery, grid := st.powers(st.updated, st.pct)
	return SiteSnapshot{
		ID: st.id, SiteName: st.name, PercentageCharged: st.pct,
		BackupReservePercent: st.backupReserve, DefaultRealMode: st.realMode,
		StormModeEnabled: st.stormEnabled, CustomerPreferredExportRule: st.exportRule,
		DisallowChargeFromGridWithSolar:      st.disallowGridCharge,
		OffGridVehicleChargingReservePercent: st.offGridVehicleReserve,
		GridStatus:                           st.gridStatus,
		SolarPower:                           solar, LoadPower: load, BatteryPower: battery, GridPower: grid,
	}
}

func (st *siteSim) apply(s SiteSnapshot) {
	st.name = s.SiteName
	st.pct = math.Max(0, math.Min(100, s.PercentageCharged))
	st.backupReserve = s.BackupReservePercent
	st.realMode = s.DefaultRealMode
	st.stormEnabled = s.StormModeEnabled
	st.exportRule = s.CustomerPreferredExportRule
	st.disallowGridCharge = s.DisallowChargeFromGridWithSolar
	st.offGridVehicleReserve = s.OffGridVehicleChargingReservePercent
	st.gridStatus = s.GridStatus
}
