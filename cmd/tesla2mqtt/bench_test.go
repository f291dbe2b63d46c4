package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// TestBenchEconomy replays the reference day (the same code as `tesla2mqtt
// bench economy`) and checks the default policy's targets: no wake caused
// by the bridge, at most 120 billable requests for the car, p95 staleness
// at most 60 s driving and 5 min charging, the car asleep within 40 min of
// its last activity; and that it is fresher than Home Assistant's polling
// at a fraction of TeslaMate's bill.
func TestBenchEconomy(t *testing.T) {
	rep, err := runEconomy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.write(&out)
	t.Log("\n" + out.String())
	if strings.Contains(out.String(), "MISSED") {
		t.Errorf("a target was missed:\n%s", out.String())
	}
	bridge, ha, tm := rep.Rows[0], rep.Rows[1], rep.Rows[2]
	if bridge.BridgeWake != 0 || bridge.CarBillable() > 120 || bridge.MaxToSleep > 40*time.Minute {
		t.Errorf("default policy: %+v", bridge)
	}
	if bridge.Stale["drive_location"][1] >= ha.Stale["drive_location"][1] {
		t.Errorf("driving p95 %v s is not fresher than HA's %v s", bridge.Stale["drive_location"][1], ha.Stale["drive_location"][1])
	}
	if bridge.CarUSD*10 > tm.CarUSD {
		t.Errorf("bridge $%.3f/day is not under a tenth of TeslaMate's $%.3f", bridge.CarUSD, tm.CarUSD)
	}
	if bridge.ExtraAwake > ha.ExtraAwake || bridge.ExtraAwake > tm.ExtraAwake {
		t.Errorf("the bridge kept the car awake longer (%s) than HA (%s) or TeslaMate (%s)", bridge.ExtraAwake, ha.ExtraAwake, tm.ExtraAwake)
	}
	if bridge.Car["command"] != 2 || bridge.Car["wake"] != 1 {
		t.Errorf("the day's 2 commands and 1 wake = %v", bridge.Car)
	}
	// With Fleet Telemetry, keeping the data fresh costs at most 2 cents a
	// car-day, and the user sees which fields the money goes to.
	stream := rep.Rows[3]
	if stream.ReadUSD() > 0.02 || len(stream.Signals) == 0 {
		t.Errorf("telemetry: reading $%.4f/day, signals %v", stream.ReadUSD(), stream.Signals)
	}
	if !strings.Contains(out.String(), "| Location | ") {
		t.Errorf("no per-field signal counts:\n%s", out.String())
	}
	// With the car in Bluetooth range at home, the home hours cost no
	// billable request (the commands and the 06:50 wake go over Bluetooth),
	// the away hours cost what the default row's do, and the data is as
	// fresh as polling's.
	ble, bleStream := rep.row(benchBLERow), rep.row(benchBLEStreamRow)
	if ble == nil || bleStream == nil {
		t.Fatalf("no Bluetooth rows in %v", rep.Rows)
	}
	for _, r := range []*benchRow{ble, bleStream} {
		if r.HomeBillable > 10 || r.Car["command"] != 0 || r.Car["wake"] != 0 || r.BridgeWake != 0 ||
			r.BLEWakes != 1 || r.BLE["command"] != 2 || r.BLE["get_state"] == 0 {
			t.Errorf("%s: home billable %d, car %v, Bluetooth %v, BLE wakes %d, bridge wakes %d", r.Name, r.HomeBillable, r.Car, r.BLE, r.BLEWakes, r.BridgeWake)
		}
		if r.CarBillable() >= bridge.CarBillable() || r.ExtraAwake > bridge.ExtraAwake {
			t.Errorf("%s: %d billable, awake beyond idle %s; default %d, %s", r.Name, r.CarBillable(), r.ExtraAwake, bridge.CarBillable(), bridge.ExtraAwake)
		}
		for k, v := range bridge.Stale {
			if r.Stale[k][1] > v[1] {
				t.Errorf("%s: p95 %s %v s, polling %v s", r.Name, k, r.Stale[k][1], v[1])
			}
		}
	}
	// Polled away, the day's hour of driving costs a read a minute; with
	// Fleet Telemetry away the whole day is at most 10 billable requests
	// (the signals are billed per signal, $0.0055 for the day's 827).
	if away := ble.CarBillable() - ble.HomeBillable; away != bridge.CarBillable()-bridge.HomeBillable {
		t.Errorf("polled away: %d billable requests away, default row %d", away, bridge.CarBillable()-bridge.HomeBillable)
	}
	if bleStream.CarBillable() > 10 || bleStream.Car[fleet.CategoryStreaming] == 0 || bleStream.ReadUSD() > stream.ReadUSD() {
		t.Errorf("%s: %d billable requests, %v, reading $%.4f (telemetry alone $%.4f)", bleStream.Name, bleStream.CarBillable(), bleStream.Car, bleStream.ReadUSD(), stream.ReadUSD())
	}
	// The pricing uncertainty is visible: the checks billed as data cost
	// each policy its checks' worth more.
	if got, want := bridge.CarUSD+bridge.CheckUSD, bridge.CarUSD+float64(bridge.Checks)*0.002; bridge.Checks == 0 || got != want {
		t.Errorf("checks billed: $%.3f, want $%.3f", got, want)
	}
}

// TestBenchEconomyIsDeterministic replays the bridge's day twice.
func TestBenchEconomyIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the day twice")
	}
	a, err := runBridgeDay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := runBridgeDay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := summarize("a", a, true), summarize("a", b, true)
	var oa, ob bytes.Buffer
	(&economyReport{Rows: []benchRow{ra}}).write(&oa)
	(&economyReport{Rows: []benchRow{rb}}).write(&ob)
	if oa.String() != ob.String() {
		t.Errorf("two replays differ:\n%s\n%s", oa.String(), ob.String())
	}
}

// BenchmarkEconomy times one replay of the day under all three policies.
func BenchmarkEconomy(b *testing.B) {
	for b.Loop() {
		if _, err := runEconomy(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
