package bridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// newPolicyBridge is the test bridge on a clock the test moves, with its
// car parked (not charging) and read once in that state.
func newPolicyBridge(t *testing.T, mod func(*Options)) (*Bridge, *fakeFleet, *fakePub, *schedule.Manual, *clock.Manual) {
	t.Helper()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	b, ff, pub, sched := newTestBridge(t, func(o *Options) {
		o.Clock = clk
		if mod != nil {
			mod(o)
		}
	})
	ff.set(func() { ff.data[testVIN].Charge.ChargingState = entity.Ptr("Stopped") })
	sched.Fire(economy.JobCharging)
	return b, ff, pub, sched, clk
}

// reads fires job and returns how many vehicle_data calls it made.
func reads(ff *fakeFleet, sched *schedule.Manual, job string) int {
	before := ff.callCount("vehicle_data")
	sched.Fire(job)
	return ff.callCount("vehicle_data") - before
}

func TestPolicyQuietParkedCarIsLeftAloneToSleep(t *testing.T) {
	_, ff, _, sched, clk := newPolicyBridge(t, nil)
	if n := reads(ff, sched, economy.JobDriving) + reads(ff, sched, economy.JobCharging); n != 0 {
		t.Fatalf("a parked car was read %d times on the driving or charging spec", n)
	}
	clk.Advance(10 * time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatalf("parked car reads on the idle spec = %d, want 1", n)
	}
	// 15 quiet minutes: the connectivity check suspends vehicle_data.
	clk.Advance(5 * time.Minute)
	sched.Fire("connectivity")
	for range 4 {
		clk.Advance(5 * time.Minute)
		sched.Fire("connectivity")
		if n := reads(ff, sched, economy.JobIdle); n != 0 {
			t.Fatalf("suspended car read %d times at %s", n, clk.Now().Format("15:04"))
		}
	}
	// Still online after the 21-minute suspension: polled again.
	clk.Advance(2 * time.Minute)
	sched.Fire("connectivity")
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatalf("reads after the suspension = %d, want 1", n)
	}
	// It falls asleep: only the connectivity check, never vehicle_data.
	ff.set(func() { ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "asleep"}} })
	sched.Fire("connectivity")
	for _, j := range []string{economy.JobDriving, economy.JobCharging, economy.JobIdle} {
		if n := reads(ff, sched, j); n != 0 {
			t.Errorf("asleep car read %d times by %s", n, j)
		}
	}
	if ff.callCount("wake_up") != 0 {
		t.Error("the bridge woke the car to read it")
	}
	// Its user wakes it: read at once, and not twice in the same moment.
	ff.set(func() { ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "online"}} })
	before := ff.callCount("vehicle_data")
	sched.Fire("connectivity")
	sched.Fire(economy.JobIdle)
	if n := ff.callCount("vehicle_data") - before; n != 1 {
		t.Errorf("reads when the car came online = %d, want 1", n)
	}
}

func TestPolicyDrivingCarUsesTheFastSpec(t *testing.T) {
	b, ff, pub, sched, clk := newPolicyBridge(t, nil)
	ff.set(func() {
		ff.data[testVIN].Drive = &fleet.DriveStateData{ShiftState: entity.Ptr("D"), Speed: entity.Ptr(30.0), Latitude: entity.Ptr(52.6), Longitude: entity.Ptr(13.4)}
	})
	sched.Fire(economy.JobIdle) // sees the drive
	for i := range 20 {
		clk.Advance(time.Minute)
		sched.Fire("connectivity")
		if n := reads(ff, sched, economy.JobDriving); n != 1 {
			t.Fatalf("minute %d: driving reads = %d, want 1", i, n)
		}
		if n := reads(ff, sched, economy.JobIdle); n != 0 {
			t.Fatalf("a driving car was read on the idle spec")
		}
	}
	if st := pub.state(t, "t2m/"+testVIN); st["latitude"] != 52.6 {
		t.Errorf("latitude = %v, want the driving read's", st["latitude"])
	}
	var inf contract.Info
	b.publishInfo()
	msg, _ := pub.Last("t2m/bridge/info")
	if err := json.Unmarshal(msg.Payload, &inf); err != nil || inf.Polling[testVIN] != "driving" {
		t.Errorf("bridge/info polling = %v (%v), want %s driving", inf.Polling, err, testVIN)
	}
}

func TestPolicyAwakeAnywayAndOccupiedCarsAreNotSuspended(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(d *fleet.VehicleData)
		job  string
	}{
		{"sentry", func(d *fleet.VehicleData) { d.Vehicle.SentryMode = entity.Ptr(true) }, economy.JobIdle},
		{"climate", func(d *fleet.VehicleData) { d.Climate.IsClimateOn = entity.Ptr(true) }, economy.JobIdle},
		{"open trunk", func(d *fleet.VehicleData) { d.Vehicle.RearTrunk = entity.Ptr(1.0) }, economy.JobIdle},
		{"update", func(d *fleet.VehicleData) {
			d.Vehicle.SoftwareUpdate = &fleet.SoftwareUpdate{Status: entity.Ptr("installing")}
		}, economy.JobIdle},
		// Someone in the car: a drive is about to start, read fast.
		{"user present", func(d *fleet.VehicleData) { d.Vehicle.IsUserPresent = entity.Ptr(true) }, economy.JobDriving},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ff, _, sched, clk := newPolicyBridge(t, nil)
			ff.set(func() { c.set(ff.data[testVIN]) })
			sched.Fire(economy.JobIdle)
			for range 6 {
				clk.Advance(10 * time.Minute)
				sched.Fire("connectivity")
				if n := reads(ff, sched, c.job); n != 1 {
					t.Fatalf("%s at %s: reads on %s = %d, want 1 (never suspended)", c.name, clk.Now().Format("15:04"), c.job, n)
				}
			}
		})
	}
}

func TestPolicyRateLimitIsPerCarAndEndpoint(t *testing.T) {
	_, ff, _, sched, clk := newPolicyBridge(t, nil)
	ff.set(func() {
		ff.dataErr[testVIN] = &fleet.APIError{Endpoint: "vehicle_data", Status: 429, Kind: fleet.ErrRateLimited, RetryAfter: 2 * time.Minute}
	})
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatal("no read")
	}
	ff.set(func() { delete(ff.dataErr, testVIN) })
	clk.Advance(time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 0 {
		t.Fatalf("read %d times within Retry-After", n)
	}
	// The energy site keeps its schedule.
	before := ff.callCount("live_status")
	sched.Fire("live_status")
	if ff.callCount("live_status") != before+1 {
		t.Error("the site was held back by the car's 429")
	}
	clk.Advance(time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatalf("reads after Retry-After = %d, want 1", n)
	}
}

// sentryOn turns sentry on and reads it: the car stays on the idle spec
// however long a test runs.
func sentryOn(ff *fakeFleet, sched *schedule.Manual) {
	ff.set(func() { ff.data[testVIN].Vehicle.SentryMode = entity.Ptr(true) })
	sched.Fire(economy.JobIdle)
}

func TestPolicyServerErrorsBackOffThenOpenTheCarsCircuit(t *testing.T) {
	_, ff, _, sched, clk := newPolicyBridge(t, nil)
	sentryOn(ff, sched)
	ff.set(func() {
		ff.dataErr[testVIN] = &fleet.APIError{Endpoint: "vehicle_data", Status: 503, Kind: fleet.ErrServer}
	})
	// One failure: the next tick retries.
	reads(ff, sched, economy.JobIdle)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatalf("after one 503 the next tick read %d times, want 1", n)
	}
	// Two in a row: wait at least 30 s (plus jitter, at most 25 %).
	clk.Advance(29 * time.Second)
	if n := reads(ff, sched, economy.JobIdle); n != 0 {
		t.Fatal("no back-off after two 503s")
	}
	clk.Advance(9 * time.Second)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatal("the back-off did not end after 30 s + 25 %")
	}
	// The fourth failure doubles the wait again; the fifth opens the circuit.
	clk.Advance(5 * time.Minute)
	reads(ff, sched, economy.JobIdle)
	clk.Advance(5 * time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatal("fifth attempt not made")
	}
	clk.Advance(14 * time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 0 {
		t.Fatal("the circuit is not open after five failures")
	}
	before := ff.callCount("live_status")
	sched.Fire("live_status")
	if ff.callCount("live_status") != before+1 {
		t.Error("the site was held back by the car's open circuit")
	}
	ff.set(func() { delete(ff.dataErr, testVIN) })
	clk.Advance(time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatal("no read after the circuit's 15 minutes")
	}
	clk.Advance(time.Second)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Fatal("a success did not close the circuit")
	}
}

func TestPolicyExceededLimitPausesPolling(t *testing.T) {
	_, ff, pub, sched, clk := newPolicyBridge(t, func(o *Options) {
		o.Budget, _ = economy.NewBudget(economy.BudgetOptions{MonthlyUSD: 10, Prices: fleet.DefaultPrices(), Clock: o.Clock})
	})
	pauseEnd := clk.Now().Add(15 * time.Minute).UTC().Format(time.RFC3339)
	sentryOn(ff, sched)
	ff.set(func() {
		ff.dataErr[testVIN] = &fleet.APIError{Endpoint: "vehicle_data", Status: 403, Kind: fleet.ErrExceededLimit}
	})
	reads(ff, sched, economy.JobIdle)
	ev, ok := pub.Last("t2m/bridge/event")
	if !ok {
		t.Fatal("no event on EXCEEDED_LIMIT")
	}
	var e economy.BudgetEvent
	if err := json.Unmarshal(ev.Payload, &e); err != nil || e.Type != economy.EventPollingPaused || e.Until != pauseEnd {
		t.Errorf("event = %s", ev.Payload)
	}
	info := pub.state(t, "t2m/bridge/info")
	if b, _ := info["budget"].(map[string]any); b == nil || b["paused_until"] != pauseEnd {
		t.Errorf("bridge/info budget = %v", info["budget"])
	}
	ff.set(func() { delete(ff.dataErr, testVIN) })
	checks := ff.callCount("vehicles")
	for range 14 {
		clk.Advance(time.Minute)
		sched.Fire("connectivity")
		sched.Fire("live_status")
		if n := reads(ff, sched, economy.JobIdle); n != 0 {
			t.Fatal("polled during the pause")
		}
	}
	if ff.callCount("vehicles") != checks {
		t.Error("the connectivity check ran during the pause")
	}
	clk.Advance(time.Minute)
	if n := reads(ff, sched, economy.JobIdle); n != 1 {
		t.Error("polling did not resume after 15 minutes")
	}
}
