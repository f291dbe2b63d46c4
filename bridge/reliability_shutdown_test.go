package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// relCommander blocks every command until release or its context ends.
type relCommander struct {
	started chan struct{}
	release chan struct{}
}

func (c *relCommander) VehicleCommand(ctx context.Context, _ string, _ fleet.Command) (*fleet.CommandResult, error) {
	c.started <- struct{}{}
	select {
	case <-c.release:
		return &fleet.CommandResult{Result: true}, nil
	case <-ctx.Done():
		return nil, &fleet.APIError{Endpoint: fleet.CallCommand, Kind: fleet.ErrNetwork, Message: ctx.Err().Error()}
	}
}

// relRun runs a bridge over fakes whose commands go to cmdr, and returns its
// publisher, a cancel for Run's context and a channel closed when Run returns.
func relRun(t *testing.T, cmdr command.Commander) (*fakePub, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	ff := newFakeFleet()
	ff.products = []fleet.Product{{VIN: testVIN, DisplayName: "Red Three", State: "online"}}
	ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "online"}}
	ff.data[testVIN] = &fleet.VehicleData{VIN: testVIN, State: "online", Charge: &fleet.ChargeStateData{BatteryLevel: entity.Ptr(62.0)}}
	pub := newFakePub()
	sched := schedule.NewManual()
	b, err := New(Options{BaseTopic: "t2m", Discovery: true, Scheduler: sched, Commander: cmdr, Logger: zerolog.Nop(),
		Schedule: Schedule{Connectivity: "@every 1m"}}, ff, pub)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-sched.Started()
	return pub, cancel, done
}

// A command in flight when shutdown starts that never answers gets a
// result with status unknown (it may have reached the car), published
// before the device is left offline, and Run still ends within 3 s.
func TestShutdownInFlightCommandIsUnknown(t *testing.T) {
	cmdr := &relCommander{started: make(chan struct{}, 1), release: make(chan struct{})}
	pub, cancel, done := relRun(t, cmdr)
	pub.Send("t2m/"+testVIN+"/set/charge_limit", "70")
	<-cmdr.started
	start := time.Now()
	cancel()
	r := pub.waitResult(t)
	if r.Status != command.StatusUnknown || r.Key != "charge_limit" {
		t.Fatalf("result of the cut-off command = %+v, want status unknown", r)
	}
	select {
	case <-done:
	case <-time.After(4 * time.Second):
		t.Fatal("Run did not return within 4 s of shutdown")
	}
	if took := time.Since(start); took > 3500*time.Millisecond {
		t.Fatalf("shutdown took %s", took)
	}
	pub.relAssertAfter(t, "t2m/"+testVIN+"/result", "t2m/"+testVIN+"/availability", "offline")
}

// A command that answers within the grace period completes normally.
func TestShutdownLetsCommandFinish(t *testing.T) {
	cmdr := &relCommander{started: make(chan struct{}, 1), release: make(chan struct{})}
	pub, cancel, done := relRun(t, cmdr)
	pub.Send("t2m/"+testVIN+"/set/charge_limit", "70")
	<-cmdr.started
	cancel()
	close(cmdr.release)
	if r := pub.waitResult(t); r.Status != command.StatusOK {
		t.Fatalf("result = %+v, want ok", r)
	}
	<-done
	pub.relAssertAfter(t, "t2m/"+testVIN+"/result", "t2m/"+testVIN+"/availability", "offline")
}

// relAssertAfter checks that topic got payload after the last message on first.
func (p *fakePub) relAssertAfter(t *testing.T, first, topic, payload string) {
	t.Helper()
	at := -1
	for i, m := range p.Messages() {
		if m.Topic == first {
			at = i
		}
	}
	for _, m := range p.Messages()[at+1:] {
		if m.Topic == topic && string(m.Payload) == payload {
			return
		}
	}
	t.Fatalf("no %s=%s after the last %s", topic, payload, first)
}
