package fleet_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// bleCar is "Blue Y" (or another car of the signed env) over the simulated
// radio, on the env's manual clock.
func (e *signedEnv) bleCar(t *testing.T, vin string, key *ecdsa.PrivateKey, tweak func(*fleet.BLEOptions)) *fleet.BLECar {
	t.Helper()
	opts := fleet.BLEOptions{VIN: vin, Radio: e.sim.BLERadio(), PrivateKey: key, Clock: e.clock}
	if tweak != nil {
		tweak(&opts)
	}
	car, err := fleet.NewBLEVehicle(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(car.Close)
	return car
}

// noFleetRequests fails when anything reached the Fleet API: BLE is free
// and must stay so.
func noFleetRequests(t *testing.T, sim *fleetsim.Sim) {
	t.Helper()
	if c := sim.Counts(); len(c) != 0 {
		t.Errorf("Fleet API requests %v, want none", c)
	}
	for cat, n := range sim.Billable() {
		if n != 0 {
			t.Errorf("%d billable %s requests, want none", n, cat)
		}
	}
}

func TestBLEReadsAnAsleepCarWithoutWakingItOrPaying(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	if err := e.sim.SetVehicleState(vinSigned, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	e.sim.SetBLERange(vinSigned, true, -58)
	e.sim.ResetCounts()
	car := e.bleCar(t, vinSigned, e.key, nil)

	st, err := car.BodyControllerState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State() != fleet.StateAsleep || st.Locked == nil || !*st.Locked {
		t.Errorf("body state = %s, locked %v; want asleep and locked", st.State(), st.Locked)
	}
	view := st.VehicleData(vinSigned)
	if view.State != fleet.StateAsleep || view.Vehicle.Locked == nil || *view.Vehicle.Locked != true ||
		view.Vehicle.RearTrunk == nil || *view.Vehicle.RearTrunk != 0 {
		t.Errorf("body state's view = %+v / %+v, want asleep, locked, trunk closed", view, view.Vehicle)
	}
	_, err = car.VehicleData(ctx, []fleet.Endpoint{fleet.ChargeState})
	if !errors.Is(err, fleet.ErrBLEAsleep) || !errors.Is(err, fleet.ErrAsleep) {
		t.Errorf("VehicleData of an asleep car = %v, want ErrBLEAsleep (an ErrAsleep)", err)
	}
	if s := e.sim.VehicleState(vinSigned); s != fleet.StateAsleep {
		t.Errorf("car is %s after the reads, want still asleep", s)
	}
	noFleetRequests(t, e.sim)
	if c := e.sim.BLECounts(); c["vcsec_status"] != 2 || c["get_state"] != 0 || c["handshake"] != 0 {
		t.Errorf("BLE messages %v, want 2 body-controller reads and nothing for infotainment", c)
	}
	if s := car.Status(); !s.Connected || s.RSSI != -58 {
		t.Errorf("status = %+v, want connected at -58 dBm", s)
	}
}

func TestBLEBodyStateNeedsNoPairedKey(t *testing.T) {
	e := newSignedEnv(t)
	e.sim.SetBLERange(vinUnpaired, true, -70)
	car := e.bleCar(t, vinUnpaired, e.key, nil)
	st, err := car.BodyControllerState(context.Background())
	if err != nil || st.State() != fleet.StateOnline {
		t.Fatalf("body state of a car that does not know the key = %v, %v; want online", st, err)
	}
}

func TestBLEWakeIsFreeAndWaitsUntilAwake(t *testing.T) {
	e := newSignedEnv(t)
	if err := e.sim.SetVehicleState(vinSigned, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	e.sim.SetBLERange(vinSigned, true, -60)
	e.sim.ResetCounts()
	car := e.bleCar(t, vinSigned, e.key, nil)
	start := e.clock.Now()
	if err := car.Wake(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := e.sim.VehicleState(vinSigned); s != fleet.StateOnline {
		t.Fatalf("car is %s after Wake, want online", s)
	}
	if took := e.clock.Now().Sub(start); took < fleetsim.DefaultWakeDelay {
		t.Errorf("Wake returned after %s, before the car could be up (%s)", took, fleetsim.DefaultWakeDelay)
	}
	if st := e.sim.SleepStats(vinSigned); st.BLEWakes != 1 || st.APIWakes != 0 {
		t.Errorf("wakes: BLE %d, API %d; want 1 and 0", st.BLEWakes, st.APIWakes)
	}
	noFleetRequests(t, e.sim)
	// Awake now: the state is readable.
	if d, err := car.VehicleData(context.Background(), []fleet.Endpoint{fleet.ChargeState}); err != nil ||
		d.Charge.BatteryLevel == nil {
		t.Fatalf("read after wake = %+v, %v", d, err)
	}
}

func TestBLEWakeGivesUpOnTheInjectedClock(t *testing.T) {
	e := newSignedEnv(t)
	if err := e.sim.SetVehicleState(vinSigned, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	e.sim.SetBLERange(vinSigned, true, -60)
	car := e.bleCar(t, vinSigned, e.key, func(o *fleet.BLEOptions) { o.WakeTimeout = 5 * time.Second })
	// 5 s is less than the 20 s the simulated car needs.
	if err := car.Wake(context.Background()); !errors.Is(err, fleet.ErrBLEAsleep) {
		t.Fatalf("Wake = %v, want ErrBLEAsleep after the timeout", err)
	}
}

func TestBLECommandsRunOnTheSameCar(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	e.sim.SetBLERange(vinSigned, true, -55)
	e.sim.ResetCounts()
	car := e.bleCar(t, vinSigned, e.key, nil)

	res, err := car.Command(ctx, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 72}})
	if err != nil || !res.Result {
		t.Fatalf("set_charge_limit = %+v, %v", res, err)
	}
	if got := e.sim.Snapshot(vinSigned).ChargeLimit; got != 72 {
		t.Errorf("charge limit = %v, want 72", got)
	}
	res, err = car.Command(ctx, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 72}})
	if err != nil || res.Result || !strings.Contains(res.Reason, "already_set") {
		t.Errorf("repeated set_charge_limit = %+v, %v; want the car's refusal as a result", res, err)
	}
	if _, err := car.Command(ctx, fleet.Command{Name: "navigation_request"}); !errors.Is(err, fleet.ErrBLENeedsFleetAPI) {
		t.Errorf("navigation_request = %v, want ErrBLENeedsFleetAPI", err)
	}
	noFleetRequests(t, e.sim)

	// Asleep: the body controller still locks and unlocks, infotainment does not answer.
	if err := e.sim.SetVehicleState(vinSigned, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	if res, err := car.Command(ctx, fleet.Command{Name: "door_unlock"}); err != nil || !res.Result {
		t.Fatalf("door_unlock while asleep = %+v, %v", res, err)
	}
	if s := e.sim.Snapshot(vinSigned); s.Locked || s.State != fleet.StateAsleep {
		t.Errorf("after door_unlock: locked %v, state %s; want unlocked and still asleep", s.Locked, s.State)
	}
	if _, err := car.Command(ctx, fleet.Command{Name: "honk_horn"}); !errors.Is(err, fleet.ErrBLEAsleep) {
		t.Errorf("honk_horn while asleep = %v, want ErrBLEAsleep", err)
	}
	if res, err := car.Command(ctx, fleet.Command{Name: "wake_up"}); err != nil || !res.Result {
		t.Fatalf("wake_up = %+v, %v", res, err)
	}
	if res, err := car.Command(ctx, fleet.Command{Name: "honk_horn"}); err != nil || !res.Result {
		t.Fatalf("honk_horn after wake_up = %+v, %v", res, err)
	}
	if n := e.sim.Snapshot(vinSigned).Honks; n != 1 {
		t.Errorf("honks = %d, want 1", n)
	}
	noFleetRequests(t, e.sim)
}

func TestBLEUnpairedKeyNamesTheBLERemedy(t *testing.T) {
	e := newSignedEnv(t)
	e.sim.SetBLERange(vinUnpaired, true, -60)
	car := e.bleCar(t, vinUnpaired, e.key, nil)
	before := e.sim.Snapshot(vinUnpaired).ChargeLimit
	_, err := car.Command(context.Background(), fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 60}})
	if !errors.Is(err, fleet.ErrBLEKeyNotPaired) || !errors.Is(err, fleet.ErrKeyNotPaired) {
		t.Fatalf("err = %v, want ErrBLEKeyNotPaired, which is an ErrKeyNotPaired", err)
	}
	if got := e.sim.Snapshot(vinUnpaired).ChargeLimit; got != before {
		t.Errorf("charge limit changed to %v", got)
	}
	if _, err := car.VehicleData(context.Background(), []fleet.Endpoint{fleet.ChargeState}); !errors.Is(err, fleet.ErrBLEKeyNotPaired) {
		t.Errorf("read = %v, want ErrBLEKeyNotPaired", err)
	}
	if r := fleet.BLEKeyNotPairedRemedy(vinUnpaired); !strings.Contains(r, "tesla2mqtt ble pair --vin "+vinUnpaired) ||
		!strings.Contains(r, "key card") {
		t.Errorf("remedy %q names neither the command nor the key card", r)
	}
}

func TestBLEWithoutKeyOnlyReadsTheBodyController(t *testing.T) {
	e := newSignedEnv(t)
	e.sim.SetBLERange(vinSigned, true, -60)
	car := e.bleCar(t, vinSigned, nil, nil)
	if _, err := car.BodyControllerState(context.Background()); err != nil {
		t.Errorf("body state without key = %v", err)
	}
	if _, err := car.Command(context.Background(), fleet.Command{Name: "honk_horn"}); !errors.Is(err, fleet.ErrBLENoKey) {
		t.Errorf("command without key = %v, want ErrBLENoKey", err)
	}
}

func TestBLEPairingWithTheKeyCard(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	e.sim.SetBLERange(vinUnpaired, true, -60)
	car := e.bleCar(t, vinUnpaired, e.key, nil)
	if ok, err := car.KeyPaired(ctx); err != nil || ok {
		t.Fatalf("KeyPaired before = %v, %v; want false", ok, err)
	}
	prompted := false
	err := car.PairKey(ctx, 2*time.Minute, 2*time.Second, func() {
		prompted = true
		if !e.sim.BLEPairingPending(vinUnpaired) {
			t.Error("the prompt came before the car had the request")
		}
		// The user walks to the car and taps the card a little later.
		e.clock.Advance(7 * time.Second)
		if err := e.sim.TapKeyCard(vinUnpaired); err != nil {
			t.Error(err)
		}
	})
	if err != nil || !prompted {
		t.Fatalf("PairKey = %v (prompted %v)", err, prompted)
	}
	if res, err := car.Command(ctx, fleet.Command{Name: "honk_horn"}); err != nil || !res.Result {
		t.Fatalf("command after pairing = %+v, %v", res, err)
	}
	// The car knows the key on every path: fleet_status says so too.
	fs, err := e.client.FleetStatus(ctx, []string{vinUnpaired})
	if err != nil || !fs.KeyPaired(vinUnpaired) {
		t.Errorf("fleet_status after BLE pairing = %+v, %v; want paired", fs, err)
	}
	// Pairing again is a no-op: no second request.
	if err := car.PairKey(ctx, time.Minute, time.Second, func() { t.Error("prompted for a paired key") }); err != nil {
		t.Errorf("second PairKey = %v", err)
	}
}

func TestBLEPairingTimesOutWithoutATap(t *testing.T) {
	e := newSignedEnv(t)
	e.sim.SetBLERange(vinUnpaired, true, -60)
	car := e.bleCar(t, vinUnpaired, e.key, nil)
	start := e.clock.Now()
	err := car.PairKey(context.Background(), 90*time.Second, 3*time.Second, nil)
	if !errors.Is(err, fleet.ErrBLEPairTimeout) {
		t.Fatalf("PairKey = %v, want ErrBLEPairTimeout", err)
	}
	if took := e.clock.Now().Sub(start); took < 90*time.Second || took > 95*time.Second {
		t.Errorf("gave up after %s, want 90 s", took)
	}
	if _, err := car.Command(context.Background(), fleet.Command{Name: "honk_horn"}); !errors.Is(err, fleet.ErrBLEKeyNotPaired) {
		t.Errorf("command = %v, want still not paired", err)
	}
}

// The car keeps one anti-replay counter per key and domain, whichever path
// the message took: commands alternating between BLE and signed_command
// must all run once (the SDK resynchronises a path whose counter fell behind).
func TestBLEAndSignedCommandsAlternate(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	e.sim.SetBLERange(vinSigned, true, -60)
	car := e.bleCar(t, vinSigned, e.key, nil)
	cm := e.commander(t, e.key)
	for i := range 3 {
		if res, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "flash_lights"}); err != nil || !res.Result {
			t.Fatalf("round %d over the Fleet API: %+v, %v", i, res, err)
		}
		if res, err := car.Command(ctx, fleet.Command{Name: "flash_lights"}); err != nil || !res.Result {
			t.Fatalf("round %d over BLE: %+v, %v", i, res, err)
		}
	}
	if n := e.sim.Snapshot(vinSigned).Flashes; n != 6 {
		t.Errorf("flashes = %d, want 6 (each command once)", n)
	}
}

// Watching a parked car over BLE lets it sleep; reading its state does not,
// as with vehicle_data: the polling policy must stop reads over BLE too.
func TestBLEBodyStateLetsTheCarSleepStateReadsDoNot(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	e.sim.SetBLERange(vinSigned, true, -60)
	car := e.bleCar(t, vinSigned, e.key, nil)
	for range 15 {
		if _, err := car.BodyControllerState(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	if s := e.sim.VehicleState(vinSigned); s != fleet.StateAsleep {
		t.Fatalf("after 15 min of body-controller reads the car is %s, want asleep (idle 10 min)", s)
	}
	if err := car.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	for range 15 {
		if _, err := car.VehicleData(ctx, []fleet.Endpoint{fleet.ChargeState}); err != nil {
			t.Fatalf("read of a car kept awake: %v", err)
		}
		e.clock.Advance(time.Minute)
	}
	if s := e.sim.VehicleState(vinSigned); s != fleet.StateOnline {
		t.Errorf("after 15 min of state reads the car is %s, want kept awake", s)
	}
}
