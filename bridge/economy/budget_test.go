package economy

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

func budgetReq(endpoint string, status int, at time.Time) fleet.Request {
	return fleet.Request{Endpoint: endpoint, Category: fleet.CategoryOf(endpoint), Status: status, At: at}
}

func TestBudgetPricesByCategoryAndPersists(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "state", "budget.json")
	prices := fleet.DefaultPrices()
	prices.Connectivity = 0.0001
	bud, err := NewBudget(BudgetOptions{MonthlyUSD: 10, Prices: prices, Path: path, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	for range 10 {
		bud.Record(budgetReq(fleet.CallVehicleData, 200, now))
	}
	bud.Record(budgetReq(fleet.CallVehicleData, 408, now)) // an asleep car's 408 is billed
	bud.Record(budgetReq(fleet.CallVehicleData, 503, now)) // a 5xx is not
	bud.Record(budgetReq(fleet.CallWakeUp, 200, now))
	bud.Record(budgetReq("command/door_lock", 200, now))
	bud.Record(budgetReq(fleet.CallVehicles, 200, now))
	bud.Record(budgetReq(fleet.CallProducts, 200, now))
	want := 11*0.002 + 0.02 + 0.001 + 0.0001
	st := bud.Status()
	if math.Abs(st.SpendUSD-want) > 1e-9 || st.Billable["data"] != 11 || st.Billable["wake"] != 1 || st.Billable["command"] != 1 {
		t.Fatalf("status = %+v, want $%.4f", st, want)
	}
	if st.RequestsToday != 15 {
		t.Errorf("requests today = %d, want 15 (the 5xx is not billable)", st.RequestsToday)
	}
	if err := bud.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("budget.json = %v, %v; want mode 0600", fi, err)
	}
	// A restart continues the month.
	again, err := NewBudget(BudgetOptions{MonthlyUSD: 10, Prices: prices, Path: path, Clock: clk})
	if err != nil || math.Abs(again.Status().SpendUSD-want) > 1e-9 {
		t.Fatalf("after restart spend = %v (%v), want %v", again.Status().SpendUSD, err, want)
	}
	// A new day resets today's count, a new month the spend.
	clk.Advance(24 * time.Hour)
	if n := again.Status().RequestsToday; n != 0 {
		t.Errorf("requests today on the next day = %d", n)
	}
	clk.Advance(25 * 24 * time.Hour)
	if st := again.Status(); st.SpendUSD != 0 || st.Month != "2026-12" {
		t.Errorf("new month status = %+v", st)
	}
}

func TestBudgetProjectionStretchesPollingAndAnnounces(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	bud, _ := NewBudget(BudgetOptions{MonthlyUSD: 10, Prices: fleet.DefaultPrices(), Clock: clk})
	// $1 a day: $30 a month, three times the budget.
	for range 24 {
		for range 21 {
			bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
		}
		clk.Advance(time.Hour)
	}
	evs := bud.Evaluate(clk.Now())
	if len(evs) != 1 || evs[0].Type != EventPollingSlower || bud.Stretch() != 2 {
		t.Fatalf("events = %+v, stretch %d; want one step to ×2", evs, bud.Stretch())
	}
	if p := bud.Status().ProjectedUSD; p < 29 || p > 32 {
		t.Errorf("projection = %v, want about $30", p)
	}
	if evs := bud.Evaluate(clk.Now().Add(time.Minute)); len(evs) != 0 || bud.Stretch() != 2 {
		t.Errorf("a second step within the hour: %+v", evs)
	}
	clk.Advance(time.Hour)
	bud.Evaluate(clk.Now())
	if bud.Stretch() != 4 {
		t.Errorf("stretch after another hour over budget = %d, want 4", bud.Stretch())
	}
	// Spend reaches 80 %, then 100 %: one event each.
	for range 3600 {
		bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	}
	var types []string
	for _, e := range append(bud.Evaluate(clk.Now()), bud.Evaluate(clk.Now())...) {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != EventBudgetWarning {
		t.Errorf("events at $8.2 = %v, want one budget_warning", types)
	}
	for range 1000 {
		bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	}
	evs = bud.Evaluate(clk.Now())
	if len(evs) == 0 || evs[0].Type != EventBudgetReached {
		t.Errorf("events at $10.2 = %+v", evs)
	}
}

// TestBudgetLeapDayRollover: 29 February is a day of February, and March
// starts a new month.
func TestBudgetLeapDayRollover(t *testing.T) {
	clk := clock.NewManual(time.Date(2028, 2, 29, 23, 59, 0, 0, time.UTC))
	bud, _ := NewBudget(BudgetOptions{MonthlyUSD: 10, Prices: fleet.DefaultPrices(), Clock: clk})
	bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	if st := bud.Status(); st.Month != "2028-02" || st.RequestsToday != 1 {
		t.Fatalf("on 29 February: %+v", st)
	}
	clk.Advance(2 * time.Minute)
	if st := bud.Status(); st.Month != "2028-03" || st.SpendUSD != 0 || st.RequestsToday != 0 {
		t.Errorf("on 1 March: %+v", st)
	}
}

// TestBudgetDaysForTheChart: the status page's chart adds up to the
// month's spend, per UTC day and price bucket, survives a restart, and
// starts empty in a new month.
func TestBudgetDaysForTheChart(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 12, 30, 23, 30, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "budget.json")
	prices := fleet.DefaultPrices()
	prices.Connectivity = 0.0001
	bud, _ := NewBudget(BudgetOptions{MonthlyUSD: 10, Prices: prices, Path: path, Clock: clk})
	bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	bud.Record(budgetReq(fleet.CallWakeUp, 200, clk.Now()))
	bud.Record(budgetReq(fleet.CallLiveStatus, 200, clk.Now())) // energy reads are free by default
	clk.Advance(time.Hour)                                      // 31 December
	bud.Record(budgetReq(fleet.CallVehicles, 200, clk.Now()))
	bud.Record(budgetReq("command/door_lock", 200, clk.Now()))
	bud.Record(budgetReq(fleet.CallVehicleData, 503, clk.Now())) // not billed
	if err := bud.Save(); err != nil {
		t.Fatal(err)
	}
	again, _ := NewBudget(BudgetOptions{MonthlyUSD: 10, Prices: prices, Path: path, Clock: clk})
	days := again.Days()
	if len(days) != 2 || !days[0].Day.Equal(time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC)) || !days[1].Day.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("days = %+v", days)
	}
	if d := days[0].USD; d["data"] != 0.002 || d["wake"] != 0.02 || len(d) != 2 {
		t.Errorf("30 December = %v", d)
	}
	if d := days[1].USD; d["connectivity"] != 0.0001 || d["command"] != 0.001 || len(d) != 2 {
		t.Errorf("31 December = %v", d)
	}
	var sum float64
	for _, d := range days {
		for _, v := range d.USD {
			sum += v
		}
	}
	if math.Abs(sum-again.Status().SpendUSD) > 1e-9 {
		t.Errorf("the days add up to $%v, the month to $%v", sum, again.Status().SpendUSD)
	}
	clk.Advance(24 * time.Hour) // 1 January
	if days := again.Days(); len(days) != 0 {
		t.Errorf("a new month starts with %d days", len(days))
	}
	var nilBudget *Budget
	if nilBudget.Days() != nil {
		t.Error("a nil budget has days")
	}
}

// The priced check absorbs the budget's stretch up to its cap before the
// reads are slowed at all.
func TestSplitStretchCheckFirst(t *testing.T) {
	for _, c := range []struct{ k, max, check, reads int }{
		{1, 10, 1, 1}, {2, 10, 2, 1}, {8, 10, 8, 1}, {16, 10, 10, 2}, {64, 15, 15, 5}, {4, 1, 1, 4},
	} {
		if check, reads := SplitStretch(c.k, c.max); check != c.check || reads != c.reads {
			t.Errorf("SplitStretch(%d, %d) = %d, %d; want %d, %d", c.k, c.max, check, reads, c.check, c.reads)
		}
	}
	if n := CheckMaxTurns(time.Minute, false); n != 10 {
		t.Errorf("a 1-minute check stretches to %d turns, want 10", n)
	}
	if n := CheckMaxTurns(time.Minute, true); n != 15 {
		t.Errorf("with every car streaming: %d turns, want 15", n)
	}
}
