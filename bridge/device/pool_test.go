package device

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// fleetOfCars is a Fleet API with n online cars whose vehicle_data calls
// the test sees (entered) and answers (release, or err per VIN).
type fleetOfCars struct {
	FleetAPI
	vins    []string
	entered chan string
	release chan struct{}

	mu       sync.Mutex
	inFlight map[string]int
	now, max int
	reads    map[string]int
	errs     map[string]error
}

func newFleetOfCars(n int) *fleetOfCars {
	f := &fleetOfCars{entered: make(chan string, n), release: make(chan struct{}), inFlight: map[string]int{},
		reads: map[string]int{}, errs: map[string]error{}}
	for i := range n {
		f.vins = append(f.vins, "5YJ3E1EA7PF00"+string(rune('A'+i))+"001")
	}
	return f
}

func (f *fleetOfCars) Products(context.Context) ([]fleet.Product, error) {
	var ps []fleet.Product
	for _, v := range f.vins {
		ps = append(ps, fleet.Product{VIN: v, State: fleet.StateOnline})
	}
	return ps, nil
}

func (f *fleetOfCars) VehicleData(ctx context.Context, vin string, _ []fleet.Endpoint) (*fleet.VehicleData, error) {
	f.mu.Lock()
	f.inFlight[vin]++
	f.now++
	f.max = max(f.max, f.now)
	twice := f.inFlight[vin] > 1
	f.reads[vin]++
	err := f.errs[vin]
	f.mu.Unlock()
	if twice {
		panic("two reads of " + vin + " in flight")
	}
	if f.release != nil {
		f.entered <- vin
	}
	if err == nil && f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	f.inFlight[vin]--
	f.now--
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &fleet.VehicleData{VIN: vin, State: fleet.StateOnline}, nil
}

func (f *fleetOfCars) readsOf(vin string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[vin]
}

// newPoolRegistry is a registry of the fleet's cars, all online, reading
// on size workers.
func newPoolRegistry(t *testing.T, f *fleetOfCars, size int, clk clock.Clock) (*Registry, []*Device) {
	t.Helper()
	var mu sync.Mutex
	r := New(Options{Lock: &mu, Concurrency: size, Clock: clk, Pauser: noPause{}, Logger: zerolog.Nop()}, f, &host{})
	if err := r.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, r.Devices()
}

// A round of ten cars on three workers reads every car once, never more
// than three at a time and never one car twice at once, and returns when
// all are read.
func TestRoundReadsOnBoundedWorkers(t *testing.T) {
	f := newFleetOfCars(10)
	r, ds := newPoolRegistry(t, f, 3, clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.carFamily().round(context.Background(), carsOf(ds))
	}()
	// Three reads start before any is answered: the round is parallel.
	// The workers were started before the first read could begin.
	for range 3 {
		<-f.entered
	}
	workers := r.pool.Running()
	if workers != 3 {
		t.Errorf("%d workers for a round of %d on a pool of 3", workers, len(ds))
	}
	for range len(ds) - 3 {
		f.release <- struct{}{}
		<-f.entered
	}
	for range 3 {
		f.release <- struct{}{}
	}
	<-done
	r.Wait()
	if f.max != 3 {
		t.Errorf("%d reads in flight at once, want 3", f.max)
	}
	for _, v := range f.vins {
		if n := f.readsOf(v); n != 1 {
			t.Errorf("%s read %d times, want 1", v, n)
		}
	}
}

// A car whose lane a command holds (its send or its confirming read) is
// not read beside it: the round reads the other cars, and that car after
// the command lets go, without a worker waiting for it meanwhile.
func TestRoundWaitsForACommandOnTheCar(t *testing.T) {
	f := newFleetOfCars(2)
	r, ds := newPoolRegistry(t, f, 1, clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)))
	busy, other := ds[0], ds[1]
	release, ok := busy.hold(context.Background())
	if !ok {
		t.Fatal("no lane")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.carFamily().round(context.Background(), carsOf(ds))
	}()
	// One worker: it parked the busy car's read before it took the other's.
	if got := <-f.entered; got != other.UID() {
		t.Fatalf("read %s while a command held it", got)
	}
	f.release <- struct{}{}
	if n := f.readsOf(busy.UID()); n != 0 {
		t.Fatalf("the busy car was read %d times while the command held it", n)
	}
	release()
	if got := <-f.entered; got != busy.UID() {
		t.Fatalf("read %s, want the car the command let go", got)
	}
	f.release <- struct{}{}
	<-done
	r.Wait()
}

// Tesla's limits are per car, so one car's 429 holds back that car alone;
// a second car's 429 right after says the limit is wider, and the rest of
// the round asks nothing until the Retry-After has passed.
func TestRateLimitOnTwoCarsPausesTheHost(t *testing.T) {
	f := newFleetOfCars(4)
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	f.release = nil
	r, ds := newPoolRegistry(t, f, 1, clk)
	limited := &fleet.APIError{Endpoint: "vehicle_data", Status: 429, Kind: fleet.ErrRateLimited, RetryAfter: 30 * time.Second}
	f.errs[ds[0].UID()], f.errs[ds[1].UID()] = limited, limited
	r.carFamily().round(context.Background(), carsOf(ds))
	for _, d := range ds[2:] {
		if n := f.readsOf(d.UID()); n != 0 {
			t.Errorf("%s was read %d times during the pause", d.UID(), n)
		}
	}
	clk.Advance(30 * time.Second)
	f.errs = map[string]error{}
	r.carFamily().round(context.Background(), carsOf(ds))
	r.Wait()
	for _, d := range ds {
		if n := f.readsOf(d.UID()); n == 0 {
			t.Errorf("%s not read after the Retry-After", d.UID())
		}
	}
}

// carsOf are the devices' cars.
func carsOf(ds []*Device) []*car {
	var out []*car
	for _, d := range ds {
		out = append(out, d.k.(*car))
	}
	return out
}
