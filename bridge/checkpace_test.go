package bridge

import (
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// With the connectivity check billed and the budget running over, the
// check is stretched first (every 4th minute at stretch 4) while the car
// is still read on every turn of its spec, and bridge/info says which pace
// is in force and why.
func TestPricedCheckIsStretchedBeforeReads(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	prices := fleet.DefaultPrices()
	prices.Connectivity = prices.Data
	bud, _ := economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 0.01, Prices: prices, Clock: clk})
	for range 10 {
		bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	}
	for range 2 {
		clk.Advance(time.Hour)
		bud.Evaluate(clk.Now())
	}
	if bud.Stretch() != 4 {
		t.Fatalf("stretch = %d, want 4", bud.Stretch())
	}
	b, ff, pub, sched, _ := newPolicyBridge(t, func(o *Options) { o.Budget = bud; o.Clock = clk })
	sentryOn(ff, sched)
	checks := ff.callCount("vehicles")
	n := 0
	for range 8 {
		sched.Fire("connectivity")
		n += reads(ff, sched, economy.JobIdle)
	}
	if got := ff.callCount("vehicles") - checks; got != 2 {
		t.Errorf("%d connectivity checks in 8 turns at stretch 4, want 2", got)
	}
	if n != 8 {
		t.Errorf("%d reads in 8 turns: the reads were stretched before the check was at its 10-minute cap", n)
	}
	b.publishInfo()
	cc, _ := pub.state(t, "t2m/bridge/info")["connectivity_check"].(map[string]any)
	if cc["every_s"] != 240.0 || cc["reason"] != "budget" || cc["stretch"] != 4.0 {
		t.Errorf("bridge/info connectivity_check = %v, want every 240 s for the budget", cc)
	}
}
