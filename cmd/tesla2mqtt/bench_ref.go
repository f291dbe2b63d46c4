package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The peers' policies, written into the benchmark (PEERS.md §1.1, §1.2):
// they drive the same Fleet API client against the same day.

var benchEndpoints = []fleet.Endpoint{fleet.ChargeState, fleet.ClimateState, fleet.DriveState, fleet.LocationData,
	fleet.VehicleConfig, fleet.VehicleState}

// plainCommand is how the peers run a user's command: wake the car if it
// sleeps (then check its state every 5 s), send the command, no fresh read.
func (e *benchEnv) plainCommand(ctx context.Context, c benchCommand) error {
	v, err := e.client.Vehicle(ctx, benchVIN)
	if err != nil {
		return err
	}
	if v.State != fleet.StateOnline {
		if _, err := e.client.WakeUp(ctx, benchVIN); err != nil {
			return err
		}
		for range 12 {
			e.clock.Advance(5 * time.Second)
			if v, err = e.client.Vehicle(ctx, benchVIN); err == nil && v.State == fleet.StateOnline {
				break
			}
		}
	}
	_, err = e.client.Command(ctx, benchVIN, c.Name, c.Params)
	return err
}

// runHADay is Home Assistant's tesla_fleet coordinator: every 600 s the
// vehicle state, then vehicle_data only if online; the site's live_status
// and site_info every 60 s and its energy history every 5 minutes.
func runHADay(ctx context.Context) (*benchEnv, error) {
	e, err := newBenchEnv()
	if err != nil {
		return nil, err
	}
	siteID, _ := strconv.ParseInt(benchSite, 10, 64)
	nextCar, nextLive, nextHist := benchDay, benchDay, benchDay
	step := func(now time.Time) {
		if !now.Before(nextCar) {
			nextCar = nextCar.Add(600 * time.Second)
			if v, err := e.client.Vehicle(ctx, benchVIN); err == nil && v.State == fleet.StateOnline {
				_, _ = e.client.VehicleData(ctx, benchVIN, benchEndpoints)
			}
		}
		if !now.Before(nextLive) {
			nextLive = nextLive.Add(time.Minute)
			_, _ = e.client.LiveStatus(ctx, siteID)
			_, _ = e.client.SiteInfo(ctx, siteID)
		}
		if !now.Before(nextHist) {
			nextHist = nextHist.Add(5 * time.Minute)
			day := now.Truncate(24 * time.Hour)
			_, _ = e.client.CalendarHistory(ctx, siteID, fleet.HistoryQuery{Kind: fleet.HistoryKindEnergy, Period: fleet.PeriodDay,
				Start: day, End: day.Add(24*time.Hour - time.Second), TimeZone: "UTC"})
		}
	}
	return e, e.loop(step, func(c benchCommand) error { return e.plainCommand(ctx, c) })
}

// runTeslaMateDay is TeslaMate's vehicle.ex with its defaults and no
// stream: the state every 30 s while asleep, offline or suspended;
// vehicle_data every 15 s online, 2.5 s driving and 250/charger_kW s
// (5–20 s) charging; after 15 idle minutes without a blocker (sentry,
// climate, user present, open doors, update) no vehicle_data for 21 min.
func runTeslaMateDay(ctx context.Context) (*benchEnv, error) {
	e, err := newBenchEnv()
	if err != nil {
		return nil, err
	}
	var online bool
	var nextCheck, nextData, suspendedUntil, idleSince time.Time
	nextCheck = benchDay
	step := func(now time.Time) {
		polling := online && !now.Before(suspendedUntil)
		if !polling && !now.Before(nextCheck) {
			nextCheck = now.Add(30 * time.Second)
			v, err := e.client.Vehicle(ctx, benchVIN)
			switch {
			case err != nil:
			case v.State != fleet.StateOnline:
				online, suspendedUntil = false, time.Time{}
			case !online:
				online, nextData, idleSince = true, now, now
			}
			polling = online && !now.Before(suspendedUntil)
			if polling && !suspendedUntil.IsZero() {
				// The suspension is over and the car is still awake.
				suspendedUntil, idleSince, nextData = time.Time{}, now, now
			}
		}
		if !polling || now.Before(nextData) {
			return
		}
		vd, err := e.client.VehicleData(ctx, benchVIN, benchEndpoints)
		if errors.Is(err, fleet.ErrAsleep) {
			online = false
			return
		}
		interval := 15 * time.Second
		if err == nil {
			interval = teslaMateInterval(vd)
			if interval != 15*time.Second || teslaMateBlocked(vd) {
				idleSince = now
			}
			if now.Sub(idleSince) >= 15*time.Minute {
				suspendedUntil = now.Add(21 * time.Minute)
				nextCheck = now.Add(30 * time.Second)
			}
		}
		nextData = now.Add(interval)
	}
	return e, e.loop(step, func(c benchCommand) error { return e.plainCommand(ctx, c) })
}

// teslaMateInterval is TeslaMate's vehicle_data interval for what the car does.
func teslaMateInterval(vd *fleet.VehicleData) time.Duration {
	if d := vd.Drive; d != nil && (d.ShiftState != nil && (*d.ShiftState == "D" || *d.ShiftState == "R" || *d.ShiftState == "N") ||
		d.Speed != nil && *d.Speed > 0) {
		return 2500 * time.Millisecond
	}
	if c := vd.Charge; c != nil && c.ChargingState != nil && (*c.ChargingState == "Charging" || *c.ChargingState == "Starting") {
		kw := 0.0
		if c.ChargerPower != nil {
			kw = *c.ChargerPower
		}
		s := 20.0
		if kw > 0 {
			s = math.Min(20, math.Max(5, 250/kw))
		}
		return time.Duration(s * float64(time.Second))
	}
	return 15 * time.Second
}

// teslaMateBlocked is TeslaMate's list of what keeps a car from suspending.
func teslaMateBlocked(vd *fleet.VehicleData) bool {
	if c := vd.Climate; c != nil && (c.IsClimateOn != nil && *c.IsClimateOn || c.IsPreconditioning != nil && *c.IsPreconditioning) {
		return true
	}
	vs := vd.Vehicle
	if vs == nil {
		return false
	}
	if vs.SentryMode != nil && *vs.SentryMode || vs.IsUserPresent != nil && *vs.IsUserPresent {
		return true
	}
	for _, o := range []*float64{vs.DriverFront, vs.DriverRear, vs.PassengerFront, vs.PassengerRear, vs.FrontTrunk, vs.RearTrunk} {
		if o != nil && *o != 0 {
			return true
		}
	}
	return vs.SoftwareUpdate != nil && vs.SoftwareUpdate.Status != nil &&
		(*vs.SoftwareUpdate.Status == "downloading" || *vs.SoftwareUpdate.Status == "installing")
}

// ---- the report ----

// benchRow is one policy's day.
type benchRow struct {
	Name string
	// Car: billable requests by category; Checks: the free connectivity checks.
	Car        map[fleet.Category]int
	Checks     int
	CarUSD     float64
	Site       map[fleet.Category]int
	SiteUSD    float64
	HasSite    bool
	BridgeWake int
	// Staleness percentiles in seconds: key "drive_battery" etc. → [p50, p95].
	Stale      map[string][2]float64
	ExtraAwake time.Duration
	MaxToSleep time.Duration
	// CheckUSD is what the free checks would cost billed as data requests
	// (FLEET_API.md §6.1 does not say which category they are in).
	CheckUSD float64
	// CommandUSD is what the day's user commands cost: the commands and
	// the wakes they needed, the same under every policy.
	CommandUSD float64
	// Signals counts the streamed signals per Fleet Telemetry field.
	Signals map[string]int
	// BLE counts the messages the car got over Bluetooth (free), by kind;
	// BLEWakes are the wakes among them.
	BLE      map[string]int
	BLEWakes int
	// HomeBillable are the car's billable requests while it is at home
	// (benchAtHome), where the Bluetooth row reaches it for free.
	HomeBillable int
}

// ReadUSD is what keeping the data fresh cost: everything but the user's
// commands and the wakes they needed.
func (r benchRow) ReadUSD() float64 { return r.CarUSD - r.CommandUSD }

// CarBillable is the car's billable requests of the day: data, commands
// and wakes. Streamed signals are billed too, per signal at a 300th of a
// data request's price; they are a column of their own.
func (r benchRow) CarBillable() int {
	return r.Car[fleet.CategoryData] + r.Car[fleet.CategoryCommand] + r.Car[fleet.CategoryWake]
}

func summarize(name string, e *benchEnv, hasSite bool) benchRow {
	// The default config's prices, as the budget of a default run would
	// charge them: energy reads are free unless [prices] says otherwise.
	cfg := config.Default()
	price := prices(&cfg)
	r := benchRow{Name: name, Car: map[fleet.Category]int{}, Site: map[fleet.Category]int{}, HasSite: hasSite, Stale: map[string][2]float64{}}
	e.mu.Lock()
	for _, q := range e.requests {
		switch {
		case q.Endpoint == fleet.CallVehicles || q.Endpoint == fleet.CallVehicle && q.Device == benchVIN:
			r.Checks++
		case !q.Billable() || q.Category == fleet.CategoryFree:
		case q.Device == benchVIN:
			r.Car[q.Category]++
			if q.Category != fleet.CategoryStreaming && benchAtHome(q.At) {
				r.HomeBillable++
			}
			r.CarUSD += price.Of(q)
		case q.Device == benchSite:
			r.Site[q.Category]++
			r.SiteUSD += price.Of(q)
		}
	}
	for k, v := range e.stale {
		r.Stale[k] = [2]float64{percentile(v, 0.50), percentile(v, 0.95)}
	}
	e.mu.Unlock()
	r.Signals = maps.Clone(e.signals)
	r.BLE = e.sim.BLECounts()
	st := e.sim.SleepStats(benchVIN)
	r.BLEWakes = st.BLEWakes
	r.BridgeWake = st.APIWakes - e.cmdWakes
	r.CheckUSD = float64(r.Checks) * price.Data
	r.CommandUSD = float64(r.Car[fleet.CategoryCommand])*price.Command + float64(e.cmdWakes)*price.Wake
	r.ExtraAwake, r.MaxToSleep = st.ExtraAwake, st.MaxToSleep
	return r
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(math.Ceil(p*float64(len(s))))-1]
}

// benchDefaultRow names the row of the bridge's default configuration.
const benchDefaultRow = "tesla2mqtt (default config)"

// economyReport is the bench's result: one row per policy.
type economyReport struct{ Rows []benchRow }

// runEconomy replays the day under the three policies.
func runEconomy(ctx context.Context) (*economyReport, error) {
	rep := &economyReport{}
	for _, p := range []struct {
		name string
		run  func(context.Context) (*benchEnv, error)
		site bool
	}{
		{benchDefaultRow, runBridgeDay, true},
		{"HA tesla_fleet (600 s)", runHADay, true},
		{"TeslaMate defaults (no stream)", runTeslaMateDay, false},
		{"tesla2mqtt + Fleet Telemetry (balanced)", runBridgeTelemetryDay, true},
		{benchBLERow, runBridgeBLEDay(false), true},
		{benchBLEStreamRow, runBridgeBLEDay(true), true},
	} {
		e, err := p.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench %s: %w", p.name, err)
		}
		rep.Rows = append(rep.Rows, summarize(p.name, e, p.site))
	}
	return rep, nil
}

func fmtStale(v [2]float64) string {
	if math.IsNaN(v[0]) {
		return "–"
	}
	return fmt.Sprintf("%.0f / %.0f s", v[0], v[1])
}

// write prints the markdown table, the site rows, where the streamed
// signals went, and the targets.
func (rep *economyReport) write(w io.Writer) {
	fmt.Fprintln(w, "| Policy | data | command | wake | billable requests/car-day | streamed signals | free checks | USD/day | USD/day, checks billed as data | of which reading | wakes by bridge | battery driving p50/p95 | location driving p50/p95 | battery charging p50/p95 | location charging p50/p95 | awake beyond idle timer | longest activity→sleep |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | $%.3f | $%.3f | $%.3f | %d | %s | %s | %s | %s | %.0f min | %.0f min |\n",
			r.Name, r.Car[fleet.CategoryData], r.Car[fleet.CategoryCommand], r.Car[fleet.CategoryWake], r.CarBillable(), r.Car[fleet.CategoryStreaming], r.Checks, r.CarUSD,
			r.CarUSD+r.CheckUSD, r.ReadUSD(), r.BridgeWake, fmtStale(r.Stale["drive_battery"]), fmtStale(r.Stale["drive_location"]),
			fmtStale(r.Stale["charge_battery"]), fmtStale(r.Stale["charge_location"]), r.ExtraAwake.Minutes(), r.MaxToSleep.Minutes())
	}
	for _, r := range rep.Rows {
		if !r.HasSite {
			continue
		}
		n := 0
		for _, v := range r.Site {
			n += v
		}
		fmt.Fprintf(w, "| site: %s | %d | %d | 0 | %d (site) | – | – | $%.3f | $%.3f | $%.3f | – | – | – | – | – | – | – |\n",
			r.Name, r.Site[fleet.CategoryData], r.Site[fleet.CategoryCommand], n, r.SiteUSD, r.SiteUSD, r.SiteUSD)
	}
	fmt.Fprintln(w, "\nUSD/day is the car's day at [prices] defaults, where the once-a-minute connectivity check is free; the next column bills each check as a data request (UNCONFIRMED either way, see [prices] connectivity). \"Of which reading\" leaves out the day's two user commands and the wake the first one needs ($0.022 under every policy).")
	rep.writeSignals(w)
	rep.writeBLE(w)
	if len(rep.Rows) == 0 {
		return
	}
	r := rep.Rows[0]
	fmt.Fprintf(w, "\nTargets for %s:\n", r.Name)
	fmt.Fprintf(w, "- 0 wakes caused by the bridge: %s (%d)\n", check(r.BridgeWake == 0), r.BridgeWake)
	fmt.Fprintf(w, "- at most 120 billable requests per car-day: %s (%d)\n", check(r.CarBillable() <= 120), r.CarBillable())
	fmt.Fprintf(w, "- p95 staleness at most 60 s driving: %s (%.0f s)\n", check(r.Stale["drive_location"][1] <= 60 && r.Stale["drive_battery"][1] <= 60),
		math.Max(r.Stale["drive_location"][1], r.Stale["drive_battery"][1]))
	fmt.Fprintf(w, "- p95 staleness at most 5 min charging: %s (%.0f s)\n", check(r.Stale["charge_battery"][1] <= 300), r.Stale["charge_battery"][1])
	fmt.Fprintf(w, "- asleep within 40 min of the last activity: %s (%.0f min)\n", check(r.MaxToSleep <= 40*time.Minute), r.MaxToSleep.Minutes())
	for _, t := range rep.Rows {
		if len(t.Signals) == 0 || t.Name == benchBLEStreamRow {
			continue
		}
		fmt.Fprintf(w, "\nTargets for %s:\n", t.Name)
		fmt.Fprintf(w, "- reading at most $0.02 per car-day: %s ($%.4f; $%.4f with the user's commands)\n", check(t.ReadUSD() <= 0.02), t.ReadUSD(), t.CarUSD)
		fmt.Fprintf(w, "- p95 staleness at most 60 s driving: %s (%.0f s)\n", check(t.Stale["drive_location"][1] <= 60 && t.Stale["drive_battery"][1] <= 60),
			math.Max(t.Stale["drive_location"][1], t.Stale["drive_battery"][1]))
		fmt.Fprintf(w, "- p95 staleness at most 5 min charging: %s (%.0f s)\n", check(t.Stale["charge_battery"][1] <= 300), t.Stale["charge_battery"][1])
	}
}

// writeSignals prints, for each policy that streamed, where its signals
// went: the fields by count, with what they cost.
func (rep *economyReport) writeSignals(w io.Writer) {
	streaming := fleet.DefaultPrices().Streaming
	var shown map[string]int
	for _, r := range rep.Rows {
		if len(r.Signals) == 0 {
			continue
		}
		fields := sortedKeys(r.Signals)
		sort.SliceStable(fields, func(i, j int) bool { return r.Signals[fields[i]] > r.Signals[fields[j]] })
		total := 0
		for _, f := range fields {
			total += r.Signals[f]
		}
		fmt.Fprintf(w, "\nStreamed signals, %s: %d a day, $%.4f\n", r.Name, total, float64(total)*streaming)
		if maps.Equal(shown, r.Signals) {
			fmt.Fprintln(w, "(field by field as in the table above)")
			continue
		}
		shown = r.Signals
		fmt.Fprint(w, "\n| Field | signals | USD/day |\n|---|---:|---:|\n")
		for _, f := range fields {
			fmt.Fprintf(w, "| %s | %d | $%.4f |\n", f, r.Signals[f], float64(r.Signals[f])*streaming)
		}
	}
}
