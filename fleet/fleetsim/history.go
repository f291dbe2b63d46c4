package fleetsim

import (
	"math"
	"net/http"
	"time"
)

// calendar_history?kind=energy (FLEET_API §5). The simulator records the
// energy that flows through each site in 15-minute buckets while it
// advances, so the history matches the live powers it served; buckets from
// before the simulator started (or that it skipped) are integrated from the
// same power curve, holding the battery at its initial state of charge.

// bucketLen is the granularity of the ledger and of period=day answers.
const bucketLen = 15 * time.Minute

// energyBucket is the energy (Wh) of one bucket, split by source and sink.
type energyBucket struct {
	solar, load                                  float64
	gridImport, gridExportSolar, gridExportBatt  float64
	battDischarge, battFromSolar, battFromGrid   float64
	homeFromSolar, homeFromBattery, homeFromGrid float64
}

func (b *energyBucket) add(o *energyBucket) {
	b.solar += o.solar
	b.load += o.load
	b.gridImport += o.gridImport
	b.gridExportSolar += o.gridExportSolar
	b.gridExportBatt += o.gridExportBatt
	b.battDischarge += o.battDischarge
	b.battFromSolar += o.battFromSolar
	b.battFromGrid += o.battFromGrid
	b.homeFromSolar += o.homeFromSolar
	b.homeFromBattery += o.homeFromBattery
	b.homeFromGrid += o.homeFromGrid
}

// flows splits instantaneous powers (W, Tesla's signs) into energy over d:
// solar serves the home first, then charges the battery, then exports; a
// discharging battery serves the rest of the home, then exports; the grid
// covers what remains of the home and any grid charging.
func flows(d time.Duration, solar, load, battery, grid float64) energyBucket {
	h := d.Hours()
	var e energyBucket
	e.solar, e.load = solar*h, load*h
	homeSolar := math.Min(solar, load)
	surplus := solar - homeSolar
	var battSolar, battGrid, homeBatt, exportBatt float64
	if battery < 0 {
		battSolar = math.Min(surplus, -battery)
		battGrid = -battery - battSolar
		surplus -= battSolar
	} else {
		homeBatt = math.Min(battery, load-homeSolar)
		exportBatt = battery - homeBatt
	}
	homeGrid := math.Max(0, load-homeSolar-homeBatt)
	e.homeFromSolar, e.homeFromBattery, e.homeFromGrid = homeSolar*h, homeBatt*h, homeGrid*h
	e.battDischarge = math.Max(0, battery) * h
	e.battFromSolar, e.battFromGrid = battSolar*h, battGrid*h
	e.gridExportSolar, e.gridExportBatt = math.Max(0, surplus)*h, exportBatt*h
	e.gridImport = math.Max(0, grid) * h
	return e
}

func bucketStart(t time.Time) int64 {
	return t.Truncate(bucketLen).Unix()
}

// record adds the flows of [t, t+d) to the ledger. Callers hold Sim.mu.
func (st *siteSim) record(t time.Time, d time.Duration, solar, load, battery, grid float64) {
	k := bucketStart(t)
	b := st.ledger[k]
	if b == nil {
		b = &energyBucket{}
		st.ledger[k] = b
	}
	e := flows(d, solar, load, battery, grid)
	b.add(&e)
}

// synthesize integrates one bucket from the power curve at one-minute steps
// up to until, with the battery held at its initial state of charge.
func (st *siteSim) synthesize(start time.Time, until time.Time) energyBucket {
	var out energyBucket
	end := start.Add(bucketLen)
	if until.Before(end) {
		end = until
	}
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		d := min(time.Minute, end.Sub(t))
		solar, load, battery, grid := st.powers(t, st.initialPct)
		e := flows(d, solar, load, battery, grid)
		out.add(&e)
	}
	return out
}

// bucket returns the energy of the 15-minute bucket starting at start, as
// of now: the ledger from the simulator's start on, the curve before it.
func (st *siteSim) bucket(start, now time.Time) energyBucket {
	b, recorded := st.ledger[start.Unix()]
	if !recorded {
		return st.synthesize(start, now)
	}
	out := *b
	if start.Before(st.created) {
		pre := st.synthesize(start, st.created)
		out.add(&pre)
	}
	return out
}

// handleCalendarHistory answers kind=energy with buckets of 15 minutes for
// period=day and of one local day for week, month and year (kind=backup:
// no events). start_date/end_date default to today in the site's zone;
// time_zone (default installation_time_zone) sets the bucket timestamps.
func handleCalendarHistory(_ *Sim, r *request) response {
	st := r.Site
	q := r.HTTP.URL.Query()
	loc := st.tz
	tzName := st.tzID
	if name := q.Get("time_zone"); name != "" {
		l, err := time.LoadLocation(name)
		if err != nil {
			return apiError(http.StatusBadRequest, "invalid_field")
		}
		loc, tzName = l, name
	}
	kind := q.Get("kind")
	if kind == "backup" {
		return ok(map[string]any{"events": []any{}, "total_events": 0})
	}
	if kind != "energy" {
		return apiError(http.StatusBadRequest, "invalid_field")
	}
	now := r.Now.In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	start, end := day, day.AddDate(0, 0, 1)
	var err error
	if v := q.Get("start_date"); v != "" {
		if start, err = time.Parse(time.RFC3339, v); err != nil {
			return apiError(http.StatusBadRequest, "invalid_field")
		}
	}
	if v := q.Get("end_date"); v != "" {
		if end, err = time.Parse(time.RFC3339, v); err != nil {
			return apiError(http.StatusBadRequest, "invalid_field")
		}
	}
	period := q.Get("period")
	if period == "" {
		period = "day"
	}
	switch period {
	case "day", "week", "month", "year", "lifetime":
	default:
		return apiError(http.StatusBadRequest, "invalid_field")
	}
	if !end.After(start) || end.Sub(start) > 367*24*time.Hour {
		return apiError(http.StatusBadRequest, "invalid_field")
	}
	series := []any{}
	var group time.Time
	var acc energyBucket
	var have bool
	flush := func() {
		if have {
			series = append(series, historyItem(group.In(loc), &acc))
		}
		acc, have = energyBucket{}, false
	}
	for t := start.Truncate(bucketLen); t.Before(end) && t.Before(r.Now); t = t.Add(bucketLen) {
		g := t
		if period != "day" {
			lt := t.In(loc)
			g = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
		}
		if have && !g.Equal(group) {
			flush()
		}
		group, have = g, true
		b := st.bucket(t, r.Now)
		acc.add(&b)
	}
	flush()
	return ok(map[string]any{
		"serial_number": st.gatewayID, "period": period,
		"installation_time_zone": tzName, "time_series": series,
	})
}

// historyItem is one time_series entry; every counter in Wh, rounded to 0.1.
func historyItem(ts time.Time, b *energyBucket) map[string]any {
	r := func(x float64) float64 { return round(x, 1) }
	exported := b.gridExportSolar + b.gridExportBatt
	charged := b.battFromSolar + b.battFromGrid
	return map[string]any{
		"timestamp":                               ts.Format("2006-01-02T15:04:05-07:00"),
		"solar_energy_exported":                   r(b.solar),
		"generator_energy_exported":               0,
		"grid_energy_imported":                    r(b.gridImport),
		"grid_services_energy_imported":           0,
		"grid_services_energy_exported":           0,
		"grid_energy_exported_from_solar":         r(b.gridExportSolar),
		"grid_energy_exported_from_generator":     0,
		"grid_energy_exported_from_battery":       r(b.gridExportBatt),
		"battery_energy_exported":                 r(b.battDischarge),
		"battery_energy_imported_from_grid":       r(b.battFromGrid),
		"battery_energy_imported_from_solar":      r(b.battFromSolar),
		"battery_energy_imported_from_generator":  0,
		"consumer_energy_imported_from_grid":      r(b.homeFromGrid),
		"consumer_energy_imported_from_solar":     r(b.homeFromSolar),
		"consumer_energy_imported_from_battery":   r(b.homeFromBattery),
		"consumer_energy_imported_from_generator": 0,
		"total_home_usage":                        r(b.load),
		"total_battery_charge":                    r(charged),
		"total_battery_discharge":                 r(b.battDischarge),
		"total_solar_generation":                  r(b.solar),
		"total_grid_energy_exported":              r(exported),
	}
}
