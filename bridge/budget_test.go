package bridge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

func TestBudgetStretchSkipsPollTurnsButNotCommands(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	bud, _ := economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 0.01, Prices: fleet.DefaultPrices(), Clock: clk})
	for range 10 {
		bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	}
	clk.Advance(time.Hour)
	bud.Evaluate(clk.Now())
	_, ff, pub, sched, _ := newPolicyBridge(t, func(o *Options) { o.Budget = bud; o.Clock = clk })
	sentryOn(ff, sched)
	n := 0
	for range 8 {
		n += reads(ff, sched, economy.JobIdle)
	}
	if bud.Stretch() != 2 || n != 4 {
		t.Errorf("stretch %d: %d reads in 8 turns, want 4", bud.Stretch(), n)
	}
	pub.Send("t2m/"+testVIN+"/set/charge_limit", "75")
	if r := pub.waitResult(t); r.Status != command.StatusOK {
		t.Errorf("command over budget without hard cap: %+v", r)
	}
}

func TestBudgetHardCapRefusesCommands(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	bud, _ := economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 0.01, HardCap: true, Prices: fleet.DefaultPrices(), Clock: clk})
	for range 10 {
		bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	}
	_, ff, pub, _, _ := newPolicyBridge(t, func(o *Options) { o.Budget = bud; o.Clock = clk })
	pub.Send("t2m/"+testVIN+"/set/charge_limit", "75")
	r := pub.waitResult(t)
	if r.Status != command.StatusError || r.Error == nil || r.Error.Code != command.CodeBudgetExceeded || !strings.Contains(r.Error.Message, "hard_cap") {
		t.Errorf("result = %+v", r)
	}
	if len(ff.sent()) != 0 {
		t.Error("the command reached the Fleet API")
	}
}

func TestBudgetOnBridgeInfoAndTheBridgeDevice(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	bud, _ := economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 10, Prices: fleet.DefaultPrices(), Clock: clk})
	bud.Record(budgetReq(fleet.CallVehicleData, 200, clk.Now()))
	_, _, pub, _, _ := newPolicyBridge(t, func(o *Options) { o.Budget = bud; o.Clock = clk })
	info := pub.state(t, "t2m/bridge/info")
	b, _ := info["budget"].(map[string]any)
	if b == nil || b["spend_usd"] != 0.002 || b["budget_usd"] != 10.0 || b["requests_today"] != 1.0 {
		t.Errorf("bridge/info budget = %v", info["budget"])
	}
	raw := pub.retainedAt("homeassistant/sensor/tesla2mqtt_bridge_spend_month/config")
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil || c["device_class"] != "monetary" || c["unit_of_measurement"] != "USD" ||
		c["state_topic"] != "t2m/bridge/info" || c["name"] != "Spend this month" {
		t.Errorf("spend sensor config = %s", raw)
	}
	for _, id := range []string{"spend_projected", "requests_today"} {
		if pub.retainedAt("homeassistant/sensor/tesla2mqtt_bridge_"+id+"/config") == nil {
			t.Errorf("no discovery for %s", id)
		}
	}
}

func budgetReq(endpoint string, status int, at time.Time) fleet.Request {
	return fleet.Request{Endpoint: endpoint, Category: fleet.CategoryOf(endpoint), Status: status, At: at}
}
