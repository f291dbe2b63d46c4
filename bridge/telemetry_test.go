package bridge

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// streamRec counts the streaming signals the ingest meters.
type streamRec struct {
	mu   sync.Mutex
	reqs []fleet.Request
}

func (r *streamRec) Record(q fleet.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, q)
	r.mu.Unlock()
}

func (r *streamRec) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// newStreamBridge is newTestBridge with the ingest on the bridge's own
// broker, a clock the test moves and a meter for streaming signals.
func newStreamBridge(t *testing.T, safety string) (*Bridge, *fakeFleet, *fakePub, *schedule.Manual, *clock.Manual, *streamRec) {
	t.Helper()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	rec := &streamRec{}
	b, ff, pub, sched := newTestBridge(t, func(o *Options) {
		o.Clock = clk
		o.Telemetry = telemetry.Options{TopicBase: "ft", Streaming: rec, SafetyRead: safety}
	})
	if err := b.SubscribeTelemetry(nil); err != nil {
		t.Fatal(err)
	}
	return b, ff, pub, sched, clk, rec
}

const carTopic = "t2m/" + testVIN

func TestTelemetryFieldsLandInTheCarsEntities(t *testing.T) {
	b, _, pub, _, clk, rec := newStreamBridge(t, "")
	if got := pub.state(t, carTopic)["data_source"]; got != "fleet" {
		t.Fatalf("data_source after the first poll = %v, want fleet", got)
	}
	clk.Advance(time.Minute)
	in := func(field, payload string) { pub.Send("ft/"+testVIN+"/v/"+field, payload) }
	in("BatteryLevel", `{"value":63.5}`)                 // the dispatcher's {"value": x}
	in("VehicleSpeed", `"12.3"`)                         // a number drifted to a string
	in("Locked", `"false"`)                              // a bool drifted to a string
	in("Location", `{"latitude":48.1,"longitude":11.5}`) // one signal, two entities
	in("DetailedChargeState", `"DetailedChargeStateComplete"`)
	in("Gear", `"ShiftStateD"`)
	in("SentryMode", `"SentryModeStateArmed"`)
	in("DoorState", `{"DriverFront":true,"DriverRear":false,"PassengerFront":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":true}`)
	in("FdWindow", `"WindowStateOpened"`)
	in("InsideTemp", `{"doubleValue":19.5}`) // a typed wrapper
	in("ClimateKeeperMode", `"ClimateKeeperModeStateParty"`)
	in("SomeUnmappedSignal", `7`)
	pub.Send("ft/5YJ3E1EA7PF999999/v/BatteryLevel", `10`) // not one of our cars

	s := pub.state(t, carTopic)
	want := map[string]any{
		"battery_level": 63.5, "speed": 12.3, "locked": false, "latitude": 48.1, "longitude": 11.5, "location": true,
		"charging_state": "Complete", "charging": false, "shift_state": "D", "sentry_mode": true,
		"door_front_left": true, "door_rear_left": false, "trunk": true, "window_front_left": true,
		"inside_temp": 19.5, "climate_keeper_mode": "camp",
		"data_source": "telemetry", "telemetry_at": testAt(time.Minute),
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, s[k], s[k], v)
		}
	}
	// Streamed values land in the same blocks polls fill, so what reads
	// those blocks (here the policy's driving test) sees them too.
	d := b.reg.Device(testVIN)
	b.mu.Lock()
	m := entity.Mode(&d.View().(*entity.VehicleView).Data)
	b.mu.Unlock()
	if m != entity.ModeDriving {
		t.Errorf("mode after Gear D = %s, want driving", m)
	}
	// Every datum is a billed streaming signal, mapped or not, ours or not.
	if got := rec.n(); got != 13 {
		t.Errorf("metered %d streaming signals, want 13", got)
	}

	// An unreadable value keeps the last one; "<invalid>" clears the field
	// (a parked car's speed reads 0 again, as with vehicle_data's null).
	in("BatteryLevel", `"n/a"`)
	in("VehicleSpeed", `"<invalid>"`)
	s = pub.state(t, carTopic)
	if s["battery_level"] != 63.5 || s["speed"] != 0.0 {
		t.Errorf("after bad values: battery_level %v, speed %v", s["battery_level"], s["speed"])
	}
}

func TestPollAndStreamMergeNewestWins(t *testing.T) {
	b, ff, pub, _, clk, _ := newStreamBridge(t, "")
	clk.Advance(time.Minute)
	pub.Send("ft/"+testVIN+"/v/BatteryLevel", `70`)
	pub.Send("ft/"+testVIN+"/v/Odometer", `1002.5`)
	// A poll afterwards is newer: its blocks win, including the battery.
	clk.Advance(time.Minute)
	ff.set(func() { ff.data[testVIN].Charge.BatteryLevel = entity.Ptr(71.0) })
	b.reg.Device(testVIN).Confirm(context.Background()) // the car is online: one read
	s := pub.state(t, carTopic)
	if s["battery_level"] != 71.0 || s["data_source"] != "fleet" || s["telemetry_at"] != testAt(time.Minute) {
		t.Errorf("after the poll: battery %v source %v telemetry_at %v", s["battery_level"], s["data_source"], s["telemetry_at"])
	}
	// A datum after the poll wins its one field; the others keep the poll's values.
	clk.Advance(time.Minute)
	pub.Send("ft/"+testVIN+"/v/BatteryLevel", `72`)
	s = pub.state(t, carTopic)
	if s["battery_level"] != 72.0 || s["odometer"] != 1000.0 || s["data_source"] != "telemetry" {
		t.Errorf("after the datum: battery %v odometer %v source %v", s["battery_level"], s["odometer"], s["data_source"])
	}
	// The poll's block was copied, not changed under the fake's feet.
	ff.set(func() {
		if *ff.data[testVIN].Charge.BatteryLevel != 71 {
			t.Error("the ingest wrote into a polled block")
		}
	})
}

func TestStreamAliveFollowsTheStreamAndTheClock(t *testing.T) {
	b, _, pub, _, clk, _ := newStreamBridge(t, "")
	if b.StreamAlive(testVIN) {
		t.Fatal("alive before any signal")
	}
	pub.Send("ft/"+testVIN+"/connectivity", `{"ConnectionId":"c1","Status":"CONNECTED","CreatedAt":"2026-11-29T12:00:00Z"}`)
	if !b.StreamAlive(testVIN) {
		t.Fatal("not alive after CONNECTED")
	}
	clk.Advance(telemetry.DefaultQuiet - time.Second)
	if !b.StreamAlive(testVIN) {
		t.Error("not alive just inside the quiet period")
	}
	clk.Advance(time.Second)
	if b.StreamAlive(testVIN) {
		t.Error("still alive after the quiet period")
	}
	pub.Send("ft/"+testVIN+"/v/BatteryLevel", `60`)
	if !b.StreamAlive(testVIN) {
		t.Error("a datum did not revive the stream")
	}
	// A retained message is of unknown age: it neither revives nor changes anything.
	clk.Advance(telemetry.DefaultQuiet)
	pub.Inject(mqtt.Message{Topic: "ft/" + testVIN + "/v/BatteryLevel", Payload: []byte(`1`), Retained: true})
	if b.StreamAlive(testVIN) || pub.state(t, carTopic)["battery_level"] == 1.0 {
		t.Error("a retained datum counted as live")
	}
	// DISCONNECTED ends the stream at once and the car is asleep.
	pub.Send("ft/"+testVIN+"/connectivity", `{"Status":"CONNECTED"}`)
	pub.Send("ft/"+testVIN+"/connectivity", `{"Status":"DISCONNECTED"}`)
	if b.StreamAlive(testVIN) || pub.state(t, carTopic)["state"] != fleet.StateAsleep {
		t.Errorf("after DISCONNECTED: alive %v, state %v", b.StreamAlive(testVIN), pub.state(t, carTopic)["state"])
	}
	pub.Send("ft/"+testVIN+"/connectivity", `{"Status":"CONNECTED"}`)
	if !b.StreamAlive(testVIN) || pub.state(t, carTopic)["state"] != fleet.StateOnline {
		t.Error("CONNECTED did not bring the car online")
	}
	if b.StreamAlive("5YJ3E1EA7PF999999") {
		t.Error("an unknown car is alive")
	}
}

func TestSafetyReadOnlyForStreamingCars(t *testing.T) {
	_, ff, pub, sched, clk, _ := newStreamBridge(t, "@every 6h")
	if sched.Names()["telemetry_safety_read"] != "@every 6h" {
		t.Fatalf("safety read not scheduled: %v", sched.Names())
	}
	before := ff.callCount("vehicle_data")
	sched.Fire("telemetry_safety_read")
	if got := ff.callCount("vehicle_data") - before; got != 0 {
		t.Errorf("safety read of a car without a stream: %d reads (the regular schedule serves it)", got)
	}
	pub.Send("ft/"+testVIN+"/v/VehicleSpeed", `30`)
	clk.Advance(time.Minute)
	sched.Fire("telemetry_safety_read")
	if got := ff.callCount("vehicle_data") - before; got != 1 {
		t.Errorf("safety read of a streaming car: %d reads, want 1", got)
	}
}

func TestTelemetryFieldsListIsTheTables(t *testing.T) {
	fields := entity.TelemetryFields()
	for _, f := range []string{"BatteryLevel", "Location", "VehicleSpeed", "DetailedChargeState", "DoorState", "TpmsPressureFl"} {
		if !slices.Contains(fields, f) {
			t.Errorf("%s missing from %v", f, fields)
		}
	}
	if !slices.IsSorted(fields) || len(slices.Compact(slices.Clone(fields))) != len(fields) {
		t.Errorf("fields not sorted and unique: %v", fields)
	}
}

// The economy policy leaves a streaming car alone and polls it again once
// the stream goes quiet.
func TestPolicyStopsPollingWhileStreamAlive(t *testing.T) {
	_, ff, pub, sched, clk, _ := newStreamBridge(t, "")
	clk.Advance(10 * time.Minute)
	reads := func() int { return ff.callCount("vehicle_data") }
	n := reads()
	sched.Fire(economy.JobCharging)
	if reads() != n+1 {
		t.Fatalf("the charging car was not polled without a stream (%d → %d reads)", n, reads())
	}
	clk.Advance(5 * time.Minute)
	pub.Send("ft/"+testVIN+"/v/BatteryLevel", `64`)
	n = reads()
	sched.Fire(economy.JobCharging)
	sched.Fire(economy.JobIdle)
	sched.Fire(economy.JobDriving)
	if reads() != n {
		t.Errorf("a streaming car was polled: %d reads", reads()-n)
	}
	clk.Advance(telemetry.DefaultQuiet)
	sched.Fire(economy.JobCharging)
	if reads() != n+1 {
		t.Errorf("after the stream went quiet: %d reads, want 1", reads()-n)
	}
}

// testAt is the test clock's start plus d, as the bridge formats times.
func testAt(d time.Duration) string {
	return clocktest.Start(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)).Add(d).Format(time.RFC3339)
}
