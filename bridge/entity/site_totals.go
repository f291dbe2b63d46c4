package entity

import (
	"math"
	"time"
	_ "time/tzdata" // site time zones must resolve in minimal containers too

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
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

// SiteLocation is the site's time zone, from its site_info:
// installation_time_zone, else UTC.
func SiteLocation(info *fleet.SiteInfo) (*time.Location, string) {
	if info != nil && info.InstallationTimeZone != nil && *info.InstallationTimeZone != "" {
		if loc, err := time.LoadLocation(*info.InstallationTimeZone); err == nil {
			return loc, *info.InstallationTimeZone
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
