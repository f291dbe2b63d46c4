package bridge

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// newSiteBridge runs a bridge over fakes holding only energy sites, which
// setup describes; it returns once the first reads are published.
func newSiteBridge(t *testing.T, clk *clock.Manual, setup func(ff *fakeFleet)) (*Bridge, *fakeFleet, *fakePub, *schedule.Manual) {
	t.Helper()
	ff := newFakeFleet()
	setup(ff)
	pub := newFakePub()
	sched := schedule.NewManual()
	b, err := New(Options{
		BaseTopic: "t2m", DiscoveryPrefix: "homeassistant", Discovery: true, Version: "test",
		Schedule:  Schedule{LiveStatus: "@every 1m", SiteInfo: "@every 1h", EnergyHistory: "@every 15m"},
		Scheduler: sched, Clock: clk, Logger: zerolog.Nop(),
	}, ff, pub)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-sched.Started():
	case <-time.After(5 * time.Second):
		t.Fatal("bridge did not start within 5s")
	}
	return b, ff, pub, sched
}

// discovered lists the entity keys with a retained discovery config for
// the unique_id prefix.
func discovered(pub *fakePub, uidPrefix string) map[string]bool {
	out := map[string]bool{}
	for _, topic := range pub.RetainedTopics() {
		if !strings.HasPrefix(topic, "homeassistant/") {
			continue
		}
		parts := strings.Split(topic, "/")
		if len(parts) == 4 && strings.HasPrefix(parts[2], uidPrefix) {
			out[strings.TrimPrefix(parts[2], uidPrefix)] = true
		}
	}
	return out
}

func powerwallInfo(tz string) *fleet.SiteInfo {
	return &fleet.SiteInfo{ID: "STE1", SiteName: entity.Ptr("Home"), BackupReservePercent: entity.Ptr(20.0),
		DefaultRealMode: entity.Ptr("self_consumption"), InstallationTimeZone: entity.Ptr(tz),
		OffGridVehicleChargingReservePercent: entity.Ptr(10.0),
		UserSettings:                         &fleet.SiteUserSettings{StormModeEnabled: entity.Ptr(false)},
		Components: &fleet.SiteComponents{Battery: entity.Ptr(true), Solar: entity.Ptr(true), StormModeCapable: entity.Ptr(true),
			OffGridVehicleChargingReserveSupported: entity.Ptr(true), CustomerPreferredExportRule: entity.Ptr("pv_only"),
			DisallowChargeFromGridWithSolarInstalled: entity.Ptr(true)}}
}

var batteryControls = []string{"battery_level", "battery_power", "backup_reserve", "operation_mode", "storm_watch",
	"export_rule", "grid_charging", "off_grid_vehicle_charging_reserve", "battery_charged", "battery_discharged",
	"energy_left", "total_pack_energy"}

func TestSiteCapabilitiesDecideTheEntities(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	_, ff, pub, sched := newSiteBridge(t, clk, func(ff *fakeFleet) {
		ff.products = []fleet.Product{
			{EnergySiteID: 1, SiteName: "Home", Components: &fleet.SiteComponents{Battery: entity.Ptr(true)}},
			{EnergySiteID: 2, SiteName: "Cabin", ResourceType: "solar", Components: &fleet.SiteComponents{Battery: entity.Ptr(false)}},
			{EnergySiteID: 3, SiteName: "Barn", Components: &fleet.SiteComponents{Battery: entity.Ptr(true)}},
		}
		ff.info[1] = powerwallInfo("Europe/Berlin")
		ff.live[1] = &fleet.LiveStatus{SolarPower: entity.Ptr(1000.0), BatteryPower: entity.Ptr(-500.0), PercentageCharged: entity.Ptr(50.0),
			EnergyLeft: entity.Ptr(6750.0), TotalPackEnergy: entity.Ptr(13500.0), GridStatus: entity.Ptr("Active")}
		ff.info[2] = &fleet.SiteInfo{ID: "STE2", Components: &fleet.SiteComponents{Battery: entity.Ptr(false), Solar: entity.Ptr(true),
			StormModeCapable: entity.Ptr(false), OffGridVehicleChargingReserveSupported: entity.Ptr(false)}}
		ff.live[2] = &fleet.LiveStatus{SolarPower: entity.Ptr(800.0), GridPower: entity.Ptr(-300.0), PercentageCharged: entity.Ptr(0.0)}
		pw3 := powerwallInfo("Europe/Berlin")
		pw3.Components.StormModeCapable = entity.Ptr(false)
		pw3.Components.OffGridVehicleChargingReserveSupported = entity.Ptr(false)
		ff.info[3] = pw3
		ff.live[3] = &fleet.LiveStatus{PercentageCharged: entity.Ptr(80.0), BatteryPower: entity.Ptr(0.0)}
	})

	home := discovered(pub, "tesla2mqtt_1_")
	for _, k := range batteryControls {
		if !home[k] {
			t.Errorf("Powerwall site lacks %s", k)
		}
	}
	cabin := discovered(pub, "tesla2mqtt_2_")
	for _, k := range append(batteryControls, "storm_mode_active") {
		if cabin[k] {
			t.Errorf("solar-only site offers %s", k)
		}
	}
	for _, k := range []string{"solar_power", "grid_power", "load_power", "grid_status", "solar_generated", "grid_exported"} {
		if !cabin[k] {
			t.Errorf("solar-only site lacks %s", k)
		}
	}
	barn := discovered(pub, "tesla2mqtt_3_")
	for _, k := range []string{"storm_watch", "storm_mode_active", "off_grid_vehicle_charging_reserve", "energy_left", "total_pack_energy"} {
		if barn[k] {
			t.Errorf("site without that capability offers %s", k)
		}
	}
	if !barn["backup_reserve"] || !barn["operation_mode"] {
		t.Errorf("Powerwall 3 lacks its controls: %v", barn)
	}
	if s := pub.state(t, "t2m/1"); s["energy_left"] != 6.75 || s["backup_reserve"] != 20.0 || s["grid_charging"] != false ||
		s["operation_mode"] != "self_consumption" || s["storm_watch"] != false {
		t.Errorf("Powerwall state = %v", s)
	}
	if s := pub.state(t, "t2m/2"); s["solar_power"] != 800.0 {
		t.Errorf("solar site state = %v", s)
	}

	// The site gains storm watch and starts reporting energy_left: the next
	// reads offer them; discovery is republished once.
	ff.set(func() {
		ff.info[3].Components.StormModeCapable = entity.Ptr(true)
		ff.live[3] = &fleet.LiveStatus{PercentageCharged: entity.Ptr(80.0), EnergyLeft: entity.Ptr(10800.0)}
	})
	sched.Fire("site_info")
	if barn = discovered(pub, "tesla2mqtt_3_"); !barn["storm_watch"] || barn["energy_left"] {
		t.Errorf("after site_info: %v", barn)
	}
	sched.Fire("live_status")
	if barn = discovered(pub, "tesla2mqtt_3_"); !barn["energy_left"] {
		t.Errorf("after live_status: %v", barn)
	}
	// Losing a capability clears its config (empty retained payload).
	ff.set(func() { ff.info[3].Components.StormModeCapable = entity.Ptr(false) })
	sched.Fire("site_info")
	if barn = discovered(pub, "tesla2mqtt_3_"); barn["storm_watch"] {
		t.Errorf("storm_watch still offered after the site lost it")
	}
	if m, _ := pub.Last("homeassistant/switch/tesla2mqtt_3_storm_watch/config"); len(m.Payload) != 0 {
		t.Errorf("storm_watch config not cleared: %s", m.Payload)
	}
}

func TestSiteStartupReadsOnce(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	b, ff, _, _ := newSiteBridge(t, clk, func(ff *fakeFleet) {
		ff.products = []fleet.Product{{EnergySiteID: 1, SiteName: "Home"}}
		ff.info[1] = powerwallInfo("Europe/Berlin")
		ff.live[1] = &fleet.LiveStatus{PercentageCharged: entity.Ptr(50.0)}
	})
	ff.mu.Lock()
	calls := map[string]int{"site_info": ff.calls["site_info"], "live_status": ff.calls["live_status"],
		"calendar_history": ff.calls["calendar_history"]}
	ff.mu.Unlock()
	if want := map[string]int{"site_info": 1, "live_status": 1, "calendar_history": 1}; !reflect.DeepEqual(calls, want) {
		t.Errorf("startup reads = %v, want %v", calls, want)
	}
	// The confirming read after an energy command: one fresh read of each.
	b.reg.Device("1").Confirm(context.Background())
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.calls["site_info"] != 2 || ff.calls["live_status"] != 2 {
		t.Errorf("after the confirming read: %v", ff.calls)
	}
}

func TestWallConnectorsAreDevices(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	_, ff, pub, sched := newSiteBridge(t, clk, func(ff *fakeFleet) {
		ff.products = []fleet.Product{{EnergySiteID: 42, SiteName: "Home"}}
		info := powerwallInfo("Europe/Berlin")
		info.Components.WallConnectors = []fleet.SiteWallConnectorInfo{{DIN: "B-2", PartName: "Gen 3 Wall Connector"}}
		ff.info[42] = info
		ff.live[42] = &fleet.LiveStatus{WallConnectors: []fleet.WallConnector{
			{DIN: "B-2", State: entity.Ptr(4.0), FaultState: entity.Ptr(2.0), Power: entity.Ptr(7400.0), VIN: entity.Ptr("5YJ3E1EA7PF000001")},
			{DIN: "A-1", State: entity.Ptr(2.0), FaultState: entity.Ptr(2.0), Power: entity.Ptr(0.0)},
		}}
	})
	// Numbered in DIN order: A-1 is wc-1.
	wc1, wc2 := pub.state(t, "t2m/42-wc-1"), pub.state(t, "t2m/42-wc-2")
	if wc1["power"] != 0.0 || wc1["vin"] != nil || wc2["power"] != 7400.0 || wc2["vin"] != "5YJ3E1EA7PF000001" ||
		wc2["wall_connector_state"] != 4.0 || wc2["fault_state"] != 2.0 || wc2["state"] != "online" {
		t.Errorf("wall connector states: %v / %v", wc1, wc2)
	}
	raw, ok := pub.Last("homeassistant/sensor/tesla2mqtt_B_2_power/config")
	if !ok {
		t.Fatal("no discovery for the Wall Connector's power")
	}
	var c struct {
		Device struct {
			Identifiers []string `json:"identifiers"`
			Name        string   `json:"name"`
			Model       string   `json:"model"`
			ViaDevice   string   `json:"via_device"`
			Serial      string   `json:"serial_number"`
		} `json:"device"`
		StateTopic string `json:"state_topic"`
		Unit       string `json:"unit_of_measurement"`
	}
	if err := json.Unmarshal(raw.Payload, &c); err != nil {
		t.Fatal(err)
	}
	if c.Device.ViaDevice != "tesla2mqtt_42" || c.Device.Identifiers[0] != "tesla2mqtt_B_2" || c.Device.Serial != "B-2" ||
		c.Device.Model != "Gen 3 Wall Connector" || c.Device.Name != "Home Wall Connector 2" ||
		c.StateTopic != "t2m/42-wc-2" || c.Unit != "W" {
		t.Errorf("discovery = %s", raw.Payload)
	}
	// The site is discovered before the connectors that point at it.
	siteAt, wcAt := -1, -1
	for i, m := range pub.Messages() {
		if siteAt < 0 && strings.Contains(m.Topic, "tesla2mqtt_42_") {
			siteAt = i
		}
		if wcAt < 0 && strings.Contains(m.Topic, "tesla2mqtt_A_1_") {
			wcAt = i
		}
	}
	if siteAt < 0 || wcAt < siteAt {
		t.Errorf("site config at %d, wall connector config at %d", siteAt, wcAt)
	}
	// Updated from the site's live_status, with no call of their own.
	ff.set(func() { ff.live[42].WallConnectors[0].Power = entity.Ptr(3700.0) })
	ff.mu.Lock()
	before := ff.calls["live_status"]
	ff.mu.Unlock()
	sched.Fire("live_status")
	if s := pub.state(t, "t2m/42-wc-2"); s["power"] != 3700.0 {
		t.Errorf("after live_status: %v", s)
	}
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if n := ff.calls["live_status"] - before; n != 1 {
		t.Errorf("%d live_status calls for a site with two connectors", n)
	}
}

// solarHistory answers calendar_history with one bucket whose solar total
// the test sets per local day.
type solarHistory struct {
	mu      sync.Mutex
	byDay   map[string]float64 // local date → Wh
	queries []fleet.HistoryQuery
}

func (h *solarHistory) set(day string, wh float64) { h.mu.Lock(); h.byDay[day] = wh; h.mu.Unlock() }

func (h *solarHistory) answer(_ int64, q fleet.HistoryQuery) (*fleet.CalendarHistory, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queries = append(h.queries, q)
	wh, ok := h.byDay[q.Start.Format(time.DateOnly)]
	if !ok {
		return &fleet.CalendarHistory{}, nil
	}
	// Two buckets, so the sum is what the bridge publishes.
	half := wh / 2
	return &fleet.CalendarHistory{Period: "day", TimeSeries: []fleet.EnergyHistoryItem{
		{TotalSolarGeneration: entity.Ptr(half), GridEnergyImported: entity.Ptr(100.0)},
		{TotalSolarGeneration: entity.Ptr(wh - half), GridEnergyImported: entity.Ptr(0.0)},
	}}, nil
}

// solarSeries returns every solar_generated value published on topic, in order.
func solarSeries(t *testing.T, pub *fakePub, topic string) []float64 {
	t.Helper()
	var out []float64
	for _, m := range pub.Messages() {
		if m.Topic != topic {
			continue
		}
		var s map[string]any
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			t.Fatal(err)
		}
		if v, ok := s["solar_generated"].(float64); ok && (len(out) == 0 || out[len(out)-1] != v) {
			out = append(out, v)
		}
	}
	return out
}

// Totals never go backwards within a local day, and reset at local
// midnight (Europe/Berlin, CET: 23:59 local is 22:59 UTC), after the
// finished day's last value was published.
func TestEnergyTotalsMonotonicAndMidnightReset(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 22, 50, 0, 0, time.UTC)) // 23:50 Berlin
	h := &solarHistory{byDay: map[string]float64{"2026-11-29": 10000}}
	_, ff, pub, sched := newSiteBridge(t, clk, func(ff *fakeFleet) {
		ff.products = []fleet.Product{{EnergySiteID: 7, SiteName: "Home"}}
		ff.info[7] = powerwallInfo("Europe/Berlin")
		ff.live[7] = &fleet.LiveStatus{PercentageCharged: entity.Ptr(50.0)}
		ff.history = h.answer
	})
	topic := "t2m/7"
	if s := pub.state(t, topic); s["solar_generated"] != 10.0 || s["grid_imported"] != 0.1 {
		t.Fatalf("first totals = %v", s)
	}
	step := func(utc time.Time) {
		clk.Set(utc)
		sched.Fire("energy_history")
	}
	h.set("2026-11-29", 9500) // Tesla briefly reports less
	step(time.Date(2026, 11, 29, 22, 55, 0, 0, time.UTC))
	if s := pub.state(t, topic); s["solar_generated"] != 10.0 {
		t.Errorf("total went backwards within the day: %v", s["solar_generated"])
	}
	h.set("2026-11-29", 10400)
	step(time.Date(2026, 11, 29, 22, 59, 0, 0, time.UTC)) // 23:59 Berlin
	// Midnight in Berlin (23:00 UTC): the day closes at 10.6 kWh, the new day starts at 0.1.
	h.set("2026-11-29", 10600)
	h.set("2026-11-30", 100)
	step(time.Date(2026, 11, 29, 23, 1, 0, 0, time.UTC)) // 00:01 Berlin
	h.set("2026-11-30", 50)
	step(time.Date(2026, 11, 29, 23, 5, 0, 0, time.UTC))
	h.set("2026-11-30", 300)
	step(time.Date(2026, 11, 29, 23, 20, 0, 0, time.UTC))

	want := []float64{10, 10.4, 10.6, 0.1, 0.3}
	if got := solarSeries(t, pub, topic); !reflect.DeepEqual(got, want) {
		t.Errorf("solar_generated published %v, want %v", got, want)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.queries[len(h.queries)-1]
	if last.TimeZone != "Europe/Berlin" || last.Period != fleet.PeriodDay || last.Kind != fleet.HistoryKindEnergy ||
		last.Start.Format(time.RFC3339) != "2026-11-30T00:00:00+01:00" || last.End.Format(time.RFC3339) != "2026-11-30T23:59:59+01:00" {
		t.Errorf("last query = %+v", last)
	}
	ff.mu.Lock()
	defer ff.mu.Unlock()
	// Startup, 22:55, 22:59, 00:01 (previous day + today), 00:05, 00:20.
	if n := ff.calls["calendar_history"]; n != 7 {
		t.Errorf("%d calendar_history calls", n)
	}
}

// A site without installation_time_zone counts its days in UTC.
func TestEnergyTotalsWithoutTimeZoneUseUTC(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC))
	h := &solarHistory{byDay: map[string]float64{"2026-11-29": 2000}}
	_, _, pub, _ := newSiteBridge(t, clk, func(ff *fakeFleet) {
		ff.products = []fleet.Product{{EnergySiteID: 8}}
		ff.info[8] = powerwallInfo("")
		ff.live[8] = &fleet.LiveStatus{}
		ff.history = h.answer
	})
	if s := pub.state(t, "t2m/8"); s["solar_generated"] != 2.0 {
		t.Errorf("state = %v", s)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if q := h.queries[0]; q.TimeZone != "UTC" || q.Start.Format(time.RFC3339) != "2026-11-29T00:00:00Z" {
		t.Errorf("query = %+v", q)
	}
}
