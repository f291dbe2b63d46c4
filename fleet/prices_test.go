package fleet_test

import (
	"math"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestPricesOf(t *testing.T) {
	def := fleet.DefaultPrices()
	all := fleet.Prices{Data: 1, Command: 2, Wake: 3, Streaming: 4, Connectivity: 5, EnergyData: 6}
	req := func(endpoint string, status int) fleet.Request {
		return fleet.Request{Endpoint: endpoint, Category: fleet.CategoryOf(endpoint), Status: status}
	}
	for _, c := range []struct {
		name      string
		r         fleet.Request
		def, mine float64
	}{
		{"vehicle data", req(fleet.CallVehicleData, 200), 0.002, 1},
		{"asleep 408 is billed", req(fleet.CallVehicleData, 408), 0.002, 1},
		{"429 is billed", req(fleet.CallVehicleData, 429), 0.002, 1},
		{"5xx is not billed", req(fleet.CallVehicleData, 503), 0, 0},
		{"no response is not billed", req(fleet.CallVehicleData, 0), 0, 0},
		{"REST command", req(fleet.CallCommand, 200), 0.001, 2},
		{"command by name", req("command/door_lock", 200), 0.001, 2},
		{"signed command", req(fleet.CallSignedCommand, 200), 0.001, 2},
		{"energy command", req(fleet.CallEnergyCommand, 200), 0.001, 2},
		{"wake", req(fleet.CallWakeUp, 200), 0.02, 3},
		{"telemetry signal", req(fleet.CallTelemetrySignal, 200), 1.0 / 150000, 4},
		{"vehicle list", req(fleet.CallVehicles, 200), 0, 5},
		{"one car's state", req(fleet.CallVehicle, 200), 0, 5},
		{"live status", req(fleet.CallLiveStatus, 200), 0, 6},
		{"site info", req(fleet.CallSiteInfo, 200), 0, 6},
		{"energy history", req(fleet.CallCalendarHistory, 200), 0, 6},
		{"fleet status is free", req(fleet.CallFleetStatus, 200), 0, 0},
		{"oauth is free", req(fleet.CallOAuthToken, 200), 0, 0},
		{"no category: derived", fleet.Request{Endpoint: fleet.CallWakeUp, Status: 200}, 0.02, 3},
	} {
		if got := def.Of(c.r); math.Abs(got-c.def) > 1e-12 {
			t.Errorf("%s: default price %g, want %g", c.name, got, c.def)
		}
		if got := all.Of(c.r); got != c.mine {
			t.Errorf("%s: configured price %g, want %g", c.name, got, c.mine)
		}
	}
}

// TestMeterSpend prices what a meter counted exactly as a budget fed the
// same responses would.
func TestMeterSpend(t *testing.T) {
	m := fleet.NewMeter()
	p := fleet.Prices{Data: 0.002, Command: 0.001, Wake: 0.02, EnergyData: 0.0005}
	want := map[fleet.Category]float64{}
	for _, r := range []fleet.Request{
		{Endpoint: fleet.CallVehicleData, Status: 200}, {Endpoint: fleet.CallVehicleData, Status: 408},
		{Endpoint: fleet.CallVehicleData, Status: 500}, {Endpoint: fleet.CallLiveStatus, Status: 200},
		{Endpoint: fleet.CallWakeUp, Status: 200}, {Endpoint: fleet.CallVehicles, Status: 200},
		{Endpoint: "command/door_lock", Status: 200},
	} {
		r.Category = fleet.CategoryOf(r.Endpoint)
		m.Record(r)
		if usd := p.Of(r); usd > 0 {
			want[r.Category] += usd
		}
	}
	got := m.Spend(p)
	if len(got) != len(want) {
		t.Fatalf("Spend = %v, want %v", got, want)
	}
	for c, usd := range want {
		if math.Abs(got[c]-usd) > 1e-12 {
			t.Errorf("Spend[%s] = %g, want %g", c, got[c], usd)
		}
	}
	if math.Abs(got[fleet.CategoryData]-(0.004+0.0005)) > 1e-12 {
		t.Errorf("data spend %g: two billable vehicle_data and one priced energy read", got[fleet.CategoryData])
	}
}
