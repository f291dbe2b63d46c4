package fleet_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestBLEOutOfRangeFailsFastAndBacksOff(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	car := e.bleCar(t, vinSigned, e.key, func(o *fleet.BLEOptions) { o.BackoffMin, o.BackoffMax = 2*time.Second, 8*time.Second })
	start := e.clock.Now()
	if _, err := car.BodyControllerState(ctx); !errors.Is(err, fleet.ErrBLEOutOfRange) {
		t.Fatalf("read of a car out of range = %v, want ErrBLEOutOfRange", err)
	}
	if e.clock.Now() != start {
		t.Error("a car out of range cost waiting time")
	}
	if s := car.Status(); s.Connected || s.InRange || !errors.Is(s.LastError, fleet.ErrBLEOutOfRange) {
		t.Errorf("status = %+v, want not in range with the reason", s)
	}
	// The car comes home, but the back-off (2 s) holds the next attempt.
	e.sim.SetBLERange(vinSigned, true, -61)
	if _, err := car.BodyControllerState(ctx); !errors.Is(err, fleet.ErrBLEOutOfRange) {
		t.Fatalf("read within the back-off = %v, want ErrBLEOutOfRange without dialling", err)
	}
	if n := e.sim.BLECounts()["vcsec_status"]; n != 0 {
		t.Errorf("%d messages reached the car during the back-off", n)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := car.BodyControllerState(ctx); err != nil {
		t.Fatalf("read after the back-off = %v", err)
	}
	if s := car.Status(); !s.Connected || s.RSSI != -61 {
		t.Errorf("status = %+v, want connected at -61 dBm", s)
	}
}

// countingRadio counts beacon scans: every dial attempt starts with one.
type countingRadio struct {
	fleet.BLERadio
	scans int
}

func (r *countingRadio) Scan(ctx context.Context, vin string) (bool, int, error) {
	r.scans++
	return r.BLERadio.Scan(ctx, vin)
}

func TestBLEBackoffDoublesUpToItsCap(t *testing.T) {
	e := newSignedEnv(t)
	radio := &countingRadio{BLERadio: e.sim.BLERadio()}
	car := e.bleCar(t, vinSigned, e.key, func(o *fleet.BLEOptions) {
		o.Radio, o.BackoffMin, o.BackoffMax = radio, 2*time.Second, 5*time.Second
	})
	start := e.clock.Now()
	var attempts []time.Duration
	for range 20 {
		before := radio.scans
		if _, err := car.BodyControllerState(context.Background()); !errors.Is(err, fleet.ErrBLEOutOfRange) {
			t.Fatalf("read = %v, want ErrBLEOutOfRange", err)
		}
		if radio.scans != before {
			attempts = append(attempts, e.clock.Now().Sub(start))
		}
		e.clock.Advance(time.Second)
	}
	want := []time.Duration{0, 2 * time.Second, 6 * time.Second, 11 * time.Second, 16 * time.Second}
	if len(attempts) != len(want) {
		t.Fatalf("dialled at %v, want %v (back-off 2 s, 4 s, then 5 s)", attempts, want)
	}
	for i := range want {
		if attempts[i] != want[i] {
			t.Fatalf("dialled at %v, want %v (back-off 2 s, 4 s, then 5 s)", attempts, want)
		}
	}
}

func TestBLELinkLossThenReturn(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	e.sim.SetBLERange(vinSigned, true, -57)
	car := e.bleCar(t, vinSigned, e.key, nil)
	if _, err := car.VehicleData(ctx, []fleet.Endpoint{fleet.ChargeState}); err != nil {
		t.Fatal(err)
	}
	handshakes := e.sim.BLECounts()["handshake"]

	// The car drives off: the link breaks under the next request.
	e.sim.SetBLERange(vinSigned, false, 0)
	_, err := car.Command(ctx, fleet.Command{Name: "honk_horn"})
	if !errors.Is(err, fleet.ErrBLEOutOfRange) || errors.Is(err, fleet.ErrMayHaveSucceeded) {
		t.Fatalf("command over a broken link = %v, want ErrBLEOutOfRange (nothing was sent)", err)
	}
	if e.sim.Snapshot(vinSigned).Honks != 0 {
		t.Error("the horn honked over a broken link")
	}
	if car.Status().Connected {
		t.Error("still connected after the link broke")
	}

	// It comes back: after the back-off the next request dials again and
	// resumes the cached sessions without a new handshake.
	e.sim.SetBLERange(vinSigned, true, -63)
	e.clock.Advance(time.Minute)
	if res, err := car.Command(ctx, fleet.Command{Name: "honk_horn"}); err != nil || !res.Result {
		t.Fatalf("command after the car returned = %+v, %v", res, err)
	}
	if n := e.sim.BLECounts()["handshake"]; n != handshakes {
		t.Errorf("%d new handshakes after reconnecting, want 0 (sessions are kept)", n-handshakes)
	}
	if s := car.Status(); !s.Connected || s.RSSI != -63 {
		t.Errorf("status = %+v, want connected at -63 dBm", s)
	}
	noFleetRequests(t, e.sim)
}

func TestBLERunKeepsTheLink(t *testing.T) {
	e := newSignedEnv(t)
	e.clock.SetSleepBlocks(true)
	statuses := make(chan fleet.BLEStatus, 64)
	car := e.bleCar(t, vinSigned, e.key, func(o *fleet.BLEOptions) {
		o.BackoffMin, o.BackoffMax, o.ScanInterval = 2*time.Second, 4*time.Second, 30*time.Second
		o.OnStatus = func(s fleet.BLEStatus) { statuses <- s }
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- car.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	waitFor := func(what string, ok func(fleet.BLEStatus) bool) {
		t.Helper()
		timeout := time.NewTimer(10 * time.Second) // a guard against a hang, not a wait
		defer timeout.Stop()
		for {
			select {
			case s := <-statuses:
				if ok(s) {
					return
				}
			case <-timeout.C:
				t.Fatalf("no status %s", what)
			}
		}
	}
	// Out of range: Run looks and backs off; requests fail fast meanwhile.
	waitFor("out of range", func(s fleet.BLEStatus) bool { return !s.InRange && s.LastError != nil })
	if _, err := car.BodyControllerState(ctx); !errors.Is(err, fleet.ErrBLEOutOfRange) {
		t.Fatalf("read while Run looks = %v", err)
	}
	// The car arrives: the next round after the back-off connects.
	e.sim.SetBLERange(vinSigned, true, -66)
	if err := e.clock.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(4 * time.Second)
	waitFor("connected", func(s fleet.BLEStatus) bool { return s.Connected && s.RSSI == -66 })
	if _, err := car.BodyControllerState(ctx); err != nil {
		t.Fatalf("read on Run's link = %v", err)
	}
	// RSSI follows the beacon on the next scan.
	e.sim.SetBLERange(vinSigned, true, -72)
	if err := e.clock.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	waitFor("RSSI -72", func(s fleet.BLEStatus) bool { return s.Connected && s.RSSI == -72 })
	// The car leaves: the broken link is noticed by a request and Run
	// starts looking again at once.
	e.sim.SetBLERange(vinSigned, false, 0)
	if _, err := car.BodyControllerState(ctx); !errors.Is(err, fleet.ErrBLEOutOfRange) {
		t.Fatalf("read over the broken link = %v", err)
	}
	waitFor("disconnected", func(s fleet.BLEStatus) bool { return !s.Connected })
}

// Closing a car ends the SDK's dispatcher goroutines, also after a link
// was lost and dialled again: a bridge running for months must not pile
// them up.
func TestBLECloseLeavesNoGoroutines(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	before := runtime.NumGoroutine()
	car := e.bleCar(t, vinSigned, e.key, nil)
	e.sim.SetBLERange(vinSigned, true, -60)
	for range 3 {
		if _, err := car.VehicleData(ctx, []fleet.Endpoint{fleet.ChargeState}); err != nil {
			t.Fatal(err)
		}
		e.sim.SetBLERange(vinSigned, false, 0)
		if _, err := car.BodyControllerState(ctx); !errors.Is(err, fleet.ErrBLEOutOfRange) {
			t.Fatalf("read over a lost link = %v", err)
		}
		e.sim.SetBLERange(vinSigned, true, -60)
		e.clock.Advance(time.Minute)
	}
	car.Close()
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines after Close, %d before", after, before)
	}
}
