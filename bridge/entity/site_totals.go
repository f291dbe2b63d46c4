package entity

import (
	"math"
	"time"
	_ "time/tzdata" // site time zones must resolve in minimal containers too

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Energy totals for Home Assistant's Energy dashboard, from
// calendar_history (kind=energy, period=day) on the energy_history job.
//
// Each total is today's sum, in kWh, in the site's own time zone
// (installation_time_zone; UTC when the site has none). The sensors are
// total_increasing, so:
//   - within a local day a value never goes backwards: the bridge keeps the
//     largest sum it has seen for the day (Tesla's buckets may lag or be
//     revised down briefly, and a drop would read as a meter reset, which
//     HA would count as new energy);
//   - at local midnight the value drops to the new day's sum, which HA
//     reads as the meter reset it is. Just before that, the bridge reads
//     the finished previous day once more and publishes it, so the energy
//     of the day's last minutes is counted too.

// SiteTotals are one local day's energy counters of a site, in kWh; nil
// when the site reports no such counter.
type SiteTotals struct {
	// Day is the local date the counters belong to (YYYY-MM-DD), "" before
	// the first read.
	Day               string
	SolarGenerated    *float64
	GridImported      *float64
	GridExported      *float64
	BatteryCharged    *float64
	BatteryDischarged *float64
	HomeUsage         *float64
}

// fields lists the counters for loops over all of them.
func (t *SiteTotals) fields() []**float64 {
	return []**float64{&t.SolarGenerated, &t.GridImported, &t.GridExported,
		&t.BatteryCharged, &t.BatteryDischarged, &t.HomeUsage}
}

// Merge folds in the counters read for day and reports whether anything
// changed. An older day is ignored (a late answer), a newer day replaces
// the counters (the midnight reset), the same day keeps each maximum.
func (t *SiteTotals) Merge(day string, n SiteTotals) bool {
	switch {
	case day < t.Day:
		return false
	case day > t.Day:
		n.Day = day
		*t = n
		return true
	}
	changed := false
	nf := n.fields()
	for i, f := range t.fields() {
		if v := *nf[i]; v != nil && (*f == nil || *v > **f) {
			*f = v
			changed = true
		}
	}
	return changed
}

func siteTotalsRow(key, name, icon string, get func(*SiteTotals) *float64) Entity[*SiteView] {
	return Entity[*SiteView]{Meta: Meta{Key: key, Platform: hass.Sensor, Name: name, DeviceClass: hass.DCEnergy,
		StateClass: hass.TotalIncreasing, Unit: "kWh", Precision: Ptr(2), Icon: icon, Source: SourceHistory},
		Value: func(s *SiteView) any {
			if s == nil {
				return nil
			}
			return get(&s.Totals)
		}}
}

// siteHistoryEntities are appended to siteEntities.
var siteHistoryEntities = []Entity[*SiteView]{
	siteTotalsRow("solar_generated", "Solar generated today", "mdi:solar-power",
		func(t *SiteTotals) *float64 { return t.SolarGenerated }),
	siteTotalsRow("grid_imported", "Grid imported today", "mdi:transmission-tower-import",
		func(t *SiteTotals) *float64 { return t.GridImported }),
	siteTotalsRow("grid_exported", "Grid exported today", "mdi:transmission-tower-export",
		func(t *SiteTotals) *float64 { return t.GridExported }),
	siteTotalsRow("battery_charged", "Battery charged today", "mdi:battery-arrow-up",
		func(t *SiteTotals) *float64 { return t.BatteryCharged }),
	siteTotalsRow("battery_discharged", "Battery discharged today", "mdi:battery-arrow-down",
		func(t *SiteTotals) *float64 { return t.BatteryDischarged }),
	siteTotalsRow("home_usage", "Home usage today", "mdi:home-lightning-bolt",
		func(t *SiteTotals) *float64 { return t.HomeUsage }),
}

// SiteLocation is the site's time zone: installation_time_zone, else UTC.
func SiteLocation(v *SiteView) (*time.Location, string) {
	if v.Info != nil && v.Info.InstallationTimeZone != nil && *v.Info.InstallationTimeZone != "" {
		if loc, err := time.LoadLocation(*v.Info.InstallationTimeZone); err == nil {
			return loc, *v.Info.InstallationTimeZone
		}
	}
	return time.UTC, "UTC"
}

// siteSum adds one counter over the buckets, taking the first of the
// alternatives a bucket has (Tesla's total_* fields, else the sum of the
// split fields). Nil when no bucket has it.
func siteSum(items []fleet.EnergyHistoryItem, pick func(*fleet.EnergyHistoryItem) []*float64) *float64 {
	var sum float64
	var seen bool
	for i := range items {
		var v float64
		var has bool
		for _, p := range pick(&items[i]) {
			if p != nil {
				v += *p
				has = true
			}
		}
		if has {
			sum += v
			seen = true
		}
	}
	if !seen {
		return nil
	}
	kwh := math.Round(sum) / 1000 // whole Wh: no float noise in the payload
	return &kwh
}

// siteFirst returns the first non-nil pointer as a one-element list, else all
// of rest (summed by siteSum).
func siteFirst(total *float64, rest ...*float64) []*float64 {
	if total != nil {
		return []*float64{total}
	}
	return rest
}

// SiteDayTotals sums a day's buckets.
func SiteDayTotals(h *fleet.CalendarHistory) SiteTotals {
	if h == nil {
		return SiteTotals{}
	}
	ts := h.TimeSeries
	return SiteTotals{
		SolarGenerated: siteSum(ts, func(i *fleet.EnergyHistoryItem) []*float64 {
			return siteFirst(i.TotalSolarGeneration, i.SolarEnergyExported)
		}),
		GridImported: siteSum(ts, func(i *fleet.EnergyHistoryItem) []*float64 { return siteFirst(i.GridEnergyImported) }),
		GridExported: siteSum(ts, func(i *fleet.EnergyHistoryItem) []*float64 {
			return siteFirst(i.TotalGridEnergyExported, i.GridEnergyExportedFromSolar, i.GridEnergyExportedFromBattery)
		}),
		BatteryCharged: siteSum(ts, func(i *fleet.EnergyHistoryItem) []*float64 {
			return siteFirst(i.TotalBatteryCharge, i.BatteryEnergyImportedFromGrid, i.BatteryEnergyImportedFromSolar,
				i.BatteryEnergyImportedFromGenerator)
		}),
		BatteryDischarged: siteSum(ts, func(i *fleet.EnergyHistoryItem) []*float64 {
			return siteFirst(i.TotalBatteryDischarge, i.BatteryEnergyExported)
		}),
		HomeUsage: siteSum(ts, func(i *fleet.EnergyHistoryItem) []*float64 {
			return siteFirst(i.TotalHomeUsage, i.ConsumerEnergyImportedFromGrid, i.ConsumerEnergyImportedFromSolar,
				i.ConsumerEnergyImportedFromBattery, i.ConsumerEnergyImportedFromGenerator)
		}),
	}
}
