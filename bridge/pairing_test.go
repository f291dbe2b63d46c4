package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// pairingFleet answers fleet_status from a test-controlled pairing state.
type pairingFleet struct {
	*fakeFleet
	mu       sync.Mutex
	paired   bool
	required bool
	calls    int
}

func (p *pairingFleet) FleetStatus(_ context.Context, vins []string) (*fleet.FleetStatus, error) {
	p.calls++
	fs := &fleet.FleetStatus{VehicleInfo: map[string]fleet.FleetVehicleInfo{}}
	for _, vin := range vins {
		if p.paired {
			fs.KeyPairedVINs = append(fs.KeyPairedVINs, vin)
		} else {
			fs.UnpairedVINs = append(fs.UnpairedVINs, vin)
		}
		fs.VehicleInfo[vin] = fleet.FleetVehicleInfo{VehicleCommandProtocolRequired: p.required}
	}
	return fs, nil
}

func (p *pairingFleet) statusCalls() int {
	return p.calls
}

// pairingCommander fails every command with err and records what
// fleet_status told it.
type pairingCommander struct {
	mu       sync.Mutex
	err      error
	required map[string]bool
}

func (c *pairingCommander) VehicleCommand(context.Context, string, fleet.Command) (*fleet.CommandResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return nil, c.err
}

func (c *pairingCommander) SetSigningRequired(vin string, required bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.required[vin] = required
}

type pairingEnv struct {
	b     *Bridge
	ff    *pairingFleet
	pub   *fakePub
	sched *schedule.Manual
	clk   *clock.Manual
	cmdr  *pairingCommander
}

func newPairingEnv(t *testing.T, cmdErr error) *pairingEnv {
	t.Helper()
	ff := &pairingFleet{fakeFleet: newFakeFleet(), required: true}
	ff.products = []fleet.Product{{VIN: testVIN, DisplayName: "Blue Y", State: "online"}}
	ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "online"}}
	ff.data[testVIN] = &fleet.VehicleData{VIN: testVIN, State: "online"}
	pub := newFakePub()
	sched := schedule.NewManual()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	cmdr := &pairingCommander{err: cmdErr, required: map[string]bool{}}
	b, err := New(Options{BaseTopic: "t2m", Domain: "example.com", Version: "test",
		Schedule:  Schedule{Connectivity: "@every 1m", FleetStatus: "@every 6h"},
		Commander: cmdr, Scheduler: sched, Clock: clk, Logger: zerolog.Nop()}, ff, pub)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-sched.Started():
	case <-time.After(5 * time.Second):
		t.Fatal("bridge did not start within 5s")
	}
	return &pairingEnv{b: b, ff: ff, pub: pub, sched: sched, clk: clk, cmdr: cmdr}
}

func (e *pairingEnv) keyPaired() *bool {
	d := e.b.reg.Device(testVIN)
	e.b.mu.Lock()
	defer e.b.mu.Unlock()
	if p := d.Facts().KeyPaired; p != nil {
		return entity.Ptr(*p)
	}
	return nil
}

func TestPairingCheckedAtStart(t *testing.T) {
	e := newPairingEnv(t, nil)
	if p := e.keyPaired(); p == nil || *p {
		t.Fatalf("key paired = %v after start, want false", p)
	}
	e.cmdr.mu.Lock()
	req, told := e.cmdr.required[testVIN]
	e.cmdr.mu.Unlock()
	if !told || !req {
		t.Error("the commander was not told that the car requires signing")
	}
	if got := e.pub.state(t, "t2m/"+testVIN)["command_signing"]; got != "required" {
		t.Errorf("command_signing = %v, want required", got)
	}
	e.ff.mu.Lock()
	e.ff.paired = true
	e.ff.mu.Unlock()
	e.sched.Fire("fleet_status")
	if p := e.keyPaired(); p == nil || !*p {
		t.Errorf("key paired = %v after the scheduled check, want true", p)
	}
}

func TestKeyNotPairedResultAndRecheck(t *testing.T) {
	e := newPairingEnv(t, fleet.ErrKeyNotPaired)
	e.pub.Send("t2m/"+testVIN+"/set/charge_limit", "80")
	r := e.pub.waitResult(t)
	if r.Status != command.StatusError || r.Error == nil || r.Error.Code != command.CodeKeyNotPaired {
		t.Fatalf("result = %+v", r)
	}
	if r.Error.Message != "vehicle rejected request: your public key has not been paired with the vehicle" ||
		r.Error.URL != "https://tesla.com/_ak/example.com?vin="+testVIN ||
		r.Error.Remedy != "Open https://tesla.com/_ak/example.com on the phone with the Tesla app and approve the key in the car." {
		t.Errorf("error = %+v", r.Error)
	}

	start := e.ff.statusCalls()
	e.sched.Fire("connectivity") // too soon: no check
	if n := e.ff.statusCalls(); n != start {
		t.Fatalf("fleet_status called %d times right after the failure, want paced", n-start)
	}
	e.clk.Advance(device.PairingRecheckEvery)
	e.sched.Fire("connectivity")
	if n := e.ff.statusCalls(); n != start+1 {
		t.Fatalf("fleet_status calls = %d, want one re-check", n-start)
	}
	// The user pairs; the next re-check turns the entity on and ends the re-checks.
	e.ff.mu.Lock()
	e.ff.paired = true
	e.ff.mu.Unlock()
	e.clk.Advance(device.PairingRecheckEvery)
	e.sched.Fire("connectivity")
	if p := e.keyPaired(); p == nil || !*p {
		t.Fatalf("key paired = %v after pairing, want true", p)
	}
	e.clk.Advance(device.PairingRecheckEvery)
	e.sched.Fire("connectivity")
	if n := e.ff.statusCalls(); n != start+2 {
		t.Errorf("fleet_status calls = %d, want the re-checks to stop once paired", n-start)
	}
}

func TestPairingRecheckGivesUp(t *testing.T) {
	e := newPairingEnv(t, fleet.ErrKeyNotPaired)
	e.pub.Send("t2m/"+testVIN+"/set/charge_limit", "80")
	e.pub.waitResult(t)
	e.clk.Advance(device.PairingRecheckFor + time.Minute)
	start := e.ff.statusCalls()
	e.sched.Fire("connectivity")
	if n := e.ff.statusCalls(); n != start {
		t.Errorf("fleet_status re-checked %d times after the re-check window", n-start)
	}
}

func TestSignedOutcomesOnMQTT(t *testing.T) {
	for _, c := range []struct {
		err    error
		status string
		code   string
		remedy string
	}{
		{fmt.Errorf("%w (%w)", fleet.ErrMayHaveSucceeded, errors.New("context deadline exceeded")), command.StatusUnknown, command.CodeTimeout, "may have run"},
		{fleet.ErrSigningRequired, command.StatusError, command.CodeSigningRequired, "tesla2mqtt keygen"},
	} {
		e := newPairingEnv(t, c.err)
		e.pub.Send("t2m/"+testVIN+"/set/charge_limit", "80")
		r := e.pub.waitResult(t)
		if r.Status != c.status || r.Error == nil || r.Error.Code != c.code || !strings.Contains(r.Error.Remedy, c.remedy) {
			t.Errorf("%v: result = %+v %+v", c.err, r, r.Error)
		}
	}
}
