package device

import (
	"context"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

const vin = "5YJ3E1EA7PF000001"

// account answers like a Fleet API with one car and one Powerwall site
// with a Wall Connector; products can change between calls.
type account struct {
	FleetAPI // nil: a call the test does not expect panics
	mu       sync.Mutex
	products []fleet.Product
}

func (a *account) Products(context.Context) ([]fleet.Product, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.products), nil
}

func (a *account) Vehicles(context.Context) ([]fleet.Vehicle, error) {
	return []fleet.Vehicle{{VIN: vin, State: fleet.StateAsleep}}, nil
}

func (a *account) LiveStatus(context.Context, int64) (*fleet.LiveStatus, error) {
	return &fleet.LiveStatus{WallConnectors: []fleet.WallConnector{{DIN: "1457768-02-G--WC1"}}}, nil
}

func (a *account) SiteInfo(context.Context, int64) (*fleet.SiteInfo, error) {
	return &fleet.SiteInfo{}, nil
}

func (a *account) CalendarHistory(context.Context, int64, fleet.HistoryQuery) (*fleet.CalendarHistory, error) {
	return &fleet.CalendarHistory{}, nil
}

// host records what the registry asks it to publish.
type host struct {
	mu      sync.Mutex
	added   []string
	removed []string
	states  int
}

func (h *host) State(*Device, bool) { h.mu.Lock(); h.states++; h.mu.Unlock() }
func (h *host) Discovery(*Device)   {}

func (h *host) Problem(*economy.Problem, bool)  {}
func (h *host) ProblemCleared(*economy.Problem) {}
func (h *host) Appeared(*Device)                {}
func (h *host) Added(d *Device) {
	h.mu.Lock()
	h.added = append(h.added, d.Name()+"/"+d.Kind())
	h.mu.Unlock()
}
func (h *host) Removed(d *Device) {
	h.mu.Lock()
	h.removed = append(h.removed, d.Name())
	h.mu.Unlock()
}
func (h *host) Info()                                {}
func (h *host) Checked(time.Time)                    {}
func (h *host) Paused(time.Time, time.Time, error)   {}
func (h *host) Within(fn func(context.Context)) bool { fn(context.Background()); return true }

// The registry turns products into devices of their kinds, reads them
// once (an asleep car is not read; the site's live_status brings its Wall
// Connector), and removes a device only after two product lists without
// it, with what it owns; the host hears each step, and nothing else does.
func TestRegistryKindsAndRemoval(t *testing.T) {
	var mu sync.Mutex
	api := &account{products: []fleet.Product{
		{VIN: vin, DisplayName: "Red Three", State: fleet.StateAsleep},
		{EnergySiteID: 42, SiteName: "Home", Components: &fleet.SiteComponents{Battery: entity.Ptr(true)}},
	}}
	h := &host{}
	r := New(Options{Lock: &mu, SiteNames: map[int64]string{42: "home"}, Clock: clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)),
		Pauser: noPause{}, Logger: zerolog.Nop()}, api, h)
	ctx := context.Background()
	if err := r.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	r.Start(ctx)
	want := []string{vin + "/vehicle", "home/energy_site", "home-wc-1/wall_connector"}
	if !slices.Equal(h.added, want) {
		t.Errorf("added = %v, want %v", h.added, want)
	}
	var names []string
	for _, d := range r.Devices() {
		names = append(names, d.Name())
	}
	if !slices.Equal(names, []string{vin, "home", "home-wc-1"}) {
		t.Errorf("devices = %v", names)
	}
	api.mu.Lock()
	api.products = api.products[:1]
	api.mu.Unlock()
	if err := r.Discover(ctx); err != nil || len(h.removed) != 0 {
		t.Fatalf("one list without the site removed %v (%v)", h.removed, err)
	}
	if err := r.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(h.removed)
	if !slices.Equal(h.removed, []string{"home", "home-wc-1"}) || r.Device("home") != nil || r.Device(vin) == nil {
		t.Errorf("removed = %v; site still known: %v", h.removed, r.Device("home") != nil)
	}
}

// noPause is a polling pause that never starts.
type noPause struct{}

func (noPause) Pause(time.Time, time.Duration, string) bool { return false }
func (noPause) PausedUntil(time.Time) time.Time             { return time.Time{} }
