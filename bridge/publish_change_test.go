package bridge

import (
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// A read that changes nothing but updated_at publishes nothing: the
// retained state says the same, and subscribers (Home Assistant, Node-RED)
// are not woken for it. A value that changes is published at once, and an
// unchanged state goes out again after the heartbeat, with updated_at
// telling the last read.
func TestStatePublishedOnChangeWithHeartbeat(t *testing.T) {
	_, ff, pub, sched, clk := newPolicyBridge(t, func(o *Options) { o.Heartbeat = 5 * time.Minute })
	const topic = "t2m/" + testVIN
	count := func() int { return pub.Count(topic) }
	read := func() {
		t.Helper()
		clk.Advance(time.Minute)
		if n := reads(ff, sched, economy.JobDriving); n != 1 {
			t.Fatalf("reads = %d, want 1", n)
		}
	}
	// Someone in the car: it is read every minute on the driving spec.
	ff.set(func() { ff.data[testVIN].Vehicle.IsUserPresent = entity.Ptr(true) })
	clk.Advance(10 * time.Minute)
	sched.Fire(economy.JobIdle)
	read()
	before, first := count(), pub.state(t, topic)["updated_at"]
	read()
	if n := count() - before; n != 0 {
		t.Fatalf("a read that changed nothing published the state %d times", n)
	}
	ff.set(func() { ff.data[testVIN].Charge.BatteryLevel = entity.Ptr(63.0) })
	read()
	if n := count() - before; n != 1 {
		t.Fatalf("a changed battery level was published %d times, want 1", n)
	}
	if got := pub.state(t, topic)["battery_level"]; got != 63.0 {
		t.Errorf("battery_level = %v, want 63", got)
	}
	changed := pub.state(t, topic)["updated_at"]
	if changed == first {
		t.Errorf("updated_at stayed %v after a later read", first)
	}
	// Unchanged for four minutes: nothing; the fifth brings the heartbeat.
	for range 4 {
		read()
	}
	if n := count() - before; n != 1 {
		t.Fatalf("unchanged reads within the heartbeat published %d more times", n-1)
	}
	read()
	if n := count() - before; n != 2 {
		t.Fatalf("after the heartbeat: %d publishes, want 2", n)
	}
	if got, want := pub.state(t, topic)["updated_at"], clk.Now().UTC().Format(time.RFC3339); got != want {
		t.Errorf("heartbeat updated_at = %v, want the last read %s", got, want)
	}
}
