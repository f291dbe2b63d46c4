package bridge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// budgetEvents returns the budget events published so far, by type.
func budgetEvents(p *fakePub) map[string]economy.BudgetEvent {
	out := map[string]economy.BudgetEvent{}
	for _, m := range p.Messages() {
		var e economy.BudgetEvent
		if m.Topic == "t2m/bridge/event" && json.Unmarshal(m.Payload, &e) == nil && e.Type != "" {
			out[e.Type] = e
		}
	}
	return out
}

// TestBudgetMonthRollover runs a bridge over the end of November and of
// December: the month's spend resets, a stretch and an EXCEEDED_LIMIT pause
// that reach into the new month end at midnight UTC, the projection starts
// from the new month's spend, and a budget file saved in the old month is
// read right after a restart on either side of midnight.
func TestBudgetMonthRollover(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start      time.Time // 10 minutes before the month ends (UTC)
		old, fresh string
	}{
		{"November to December", time.Date(2026, 11, 30, 23, 50, 0, 0, time.UTC), "2026-11", "2026-12"},
		{"December to January", time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC), "2026-12", "2027-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(tc.start.Add(-2 * time.Hour))
			path := filepath.Join(t.TempDir(), "budget.json")
			bud, err := economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 0.05, Prices: fleet.DefaultPrices(), Path: path, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			// Two hours of heavy spend: over budget, stretched, then
			// Tesla's EXCEEDED_LIMIT at 23:50 pauses polling until 00:05.
			for range 30 {
				bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
			}
			clk.Set(tc.start)
			_, ff, pub, sched, _ := newPolicyBridge(t, func(o *Options) { o.Clock, o.Budget = clk, bud })
			sentryOn(ff, sched)
			sched.Fire("connectivity")
			ff.set(func() {
				ff.dataErr[testVIN] = &fleet.APIError{Endpoint: "vehicle_data", Status: 403, Kind: fleet.ErrExceededLimit}
			})
			for i := 0; i < 4 && reads(ff, sched, economy.JobIdle) == 0; i++ { // stretched: not every turn reads
			}
			info := pub.state(t, "t2m/bridge/info")["budget"].(map[string]any)
			if info["month"] != tc.old || info["spend_usd"].(float64) < 0.06 || info["stretch"].(float64) < 2 ||
				info["paused_until"] != tc.start.Add(15*time.Minute).Format(time.RFC3339) {
				t.Fatalf("bridge/info budget before midnight = %v", info)
			}
			if err := bud.Save(); err != nil {
				t.Fatal(err)
			}
			// Keep the file as it was saved in the old month: the bridge
			// rewrites it after midnight.
			saved := filepath.Join(t.TempDir(), "budget.json")
			if raw, err := os.ReadFile(path); err != nil || os.WriteFile(saved, raw, 0o600) != nil {
				t.Fatal(err)
			}

			// 30 s into the new month.
			clk.Set(tc.start.Add(10*time.Minute + 30*time.Second))
			ff.set(func() { delete(ff.dataErr, testVIN) })
			sched.Fire("connectivity")
			ev, ok := budgetEvents(pub)[economy.EventBudgetNewMonth]
			if !ok || ev.SpendUSD != 0 || ev.Stretch != 1 {
				t.Errorf("new-month event = %+v (published: %v)", ev, ok)
			}
			info = pub.state(t, "t2m/bridge/info")["budget"].(map[string]any)
			if info["month"] != tc.fresh || info["spend_usd"] != 0.0 || info["projected_usd"] != 0.0 ||
				info["stretch"] != 1.0 || info["paused_until"] != nil || len(info["billable"].(map[string]any)) != 0 {
				t.Errorf("bridge/info budget after midnight = %v", info)
			}
			if n := reads(ff, sched, economy.JobIdle); n != 1 {
				t.Errorf("polling did not resume at the new month (the old pause ran to 00:05): %d reads", n)
			}
			// The projection restarts from this month's own spend: one
			// read in its first minutes is extrapolated over at least
			// six hours, not over last month's pace.
			bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
			monthEnd := time.Date(clk.Now().Year(), clk.Now().Month()+1, 1, 0, 0, 0, 0, time.UTC)
			want := 0.002 + 0.002/6*monthEnd.Sub(clk.Now()).Hours()
			if got := bud.Status().ProjectedUSD; got < want-0.01 || got > want+0.01 {
				t.Errorf("projection after the first read of the month = $%.2f, want $%.2f", got, want)
			}

			// The file saved before midnight, read after a restart.
			before := clock.NewManual(tc.start.Add(5 * time.Minute))
			again, err := economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 0.05, Prices: fleet.DefaultPrices(), Path: saved, Clock: before})
			if err != nil {
				t.Fatal(err)
			}
			if st := again.Status(); st.Month != tc.old || st.SpendUSD < 0.06 || st.PausedUntil == "" {
				t.Errorf("restart before midnight: %+v", st)
			}
			after := clock.NewManual(tc.start.Add(20 * time.Minute))
			_, _, pub2, _, _ := newPolicyBridge(t, func(o *Options) {
				o.Clock = after
				o.Budget, err = economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 0.05, Prices: fleet.DefaultPrices(), Path: saved, Clock: after})
			})
			if err != nil {
				t.Fatal(err)
			}
			info = pub2.state(t, "t2m/bridge/info")["budget"].(map[string]any)
			if info["month"] != tc.fresh || info["spend_usd"] != 0.0 || info["paused_until"] != nil || info["stretch"] != 1.0 {
				t.Errorf("restart after midnight: bridge/info budget = %v", info)
			}
		})
	}
}
