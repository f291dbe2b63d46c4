package bridge

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

// fakePub is the shared in-memory MQTT (mqtttest.Router) with the
// bridge tests' helpers: every command result is watched, so a test waits
// for one instead of polling.
type fakePub struct {
	*mqtttest.Router
	results <-chan mqtt.Message
}

func newFakePub() *fakePub {
	r := mqtttest.NewRouter()
	return &fakePub{Router: r, results: r.Watch("+/+/result")}
}

// state decodes the retained state object on topic.
func (p *fakePub) state(t *testing.T, topic string) map[string]any {
	t.Helper()
	m, err := p.JSON(topic)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// retainedAt is the retained payload of topic, nil when there is none.
func (p *fakePub) retainedAt(topic string) []byte {
	b, _ := p.Retained(topic)
	return b
}

// fakeFleet answers from fields the test sets.
type fakeFleet struct {
	mu       sync.Mutex
	products []fleet.Product
	vehicles []fleet.Vehicle
	data     map[string]*fleet.VehicleData
	dataErr  map[string]error
	live     map[int64]*fleet.LiveStatus
	info     map[int64]*fleet.SiteInfo
	calls    map[string]int
	lastEps  []fleet.Endpoint
	// Commands sent, and how to answer them.
	commands  []fleet.Command
	cmdErr    error
	cmdResult *fleet.CommandResult
	wake      func(vin string)
	// dataRead receives a value after every vehicle_data call.
	dataRead chan struct{}
	// vehicleHook runs (under the fake's lock) on every state check.
	vehicleHook func()
	history     func(id int64, q fleet.HistoryQuery) (*fleet.CalendarHistory, error)
}

func newFakeFleet() *fakeFleet {
	return &fakeFleet{data: map[string]*fleet.VehicleData{}, dataErr: map[string]error{},
		live: map[int64]*fleet.LiveStatus{}, info: map[int64]*fleet.SiteInfo{}, calls: map[string]int{},
		dataRead: make(chan struct{}, 256)}
}

func (f *fakeFleet) inc(n string) { f.calls[n]++ }

func (f *fakeFleet) Products(context.Context) ([]fleet.Product, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("products")
	return f.products, nil
}

func (f *fakeFleet) Vehicles(context.Context) ([]fleet.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("vehicles")
	return f.vehicles, nil
}

func (f *fakeFleet) VehicleData(_ context.Context, vin string, eps []fleet.Endpoint) (*fleet.VehicleData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("vehicle_data")
	f.lastEps = eps
	f.dataRead <- struct{}{}
	if err := f.dataErr[vin]; err != nil {
		return nil, err
	}
	return f.data[vin], nil
}

func (f *fakeFleet) LiveStatus(_ context.Context, id int64) (*fleet.LiveStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("live_status")
	return f.live[id], nil
}

func (f *fakeFleet) SiteInfo(_ context.Context, id int64) (*fleet.SiteInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("site_info")
	return f.info[id], nil
}

func (f *fakeFleet) CalendarHistory(_ context.Context, id int64, q fleet.HistoryQuery) (*fleet.CalendarHistory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("calendar_history")
	if f.history == nil {
		return &fleet.CalendarHistory{}, nil
	}
	return f.history(id, q)
}

func (f *fakeFleet) Vehicle(_ context.Context, vin string) (*fleet.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("vehicle")
	if f.vehicleHook != nil {
		f.vehicleHook()
	}
	for _, v := range f.vehicles {
		if v.VIN == vin {
			v := v
			return &v, nil
		}
	}
	return nil, &fleet.APIError{Endpoint: "vehicle", Status: 404, Kind: fleet.ErrNotFound}
}

func (f *fakeFleet) WakeUp(_ context.Context, vin string) (*fleet.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("wake_up")
	if f.wake != nil {
		f.wake(vin)
	}
	return &fleet.Vehicle{VIN: vin, State: "asleep"}, nil
}

func (f *fakeFleet) FleetStatus(_ context.Context, vins []string) (*fleet.FleetStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("fleet_status")
	return &fleet.FleetStatus{}, nil
}

func (f *fakeFleet) Command(_ context.Context, vin, name string, params map[string]any) (*fleet.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("command")
	f.commands = append(f.commands, fleet.Command{Name: name, Params: params})
	if f.cmdErr != nil {
		return nil, f.cmdErr
	}
	if f.cmdResult != nil {
		return f.cmdResult, nil
	}
	return &fleet.CommandResult{Result: true}, nil
}

func (f *fakeFleet) EnergyCommand(_ context.Context, id int64, name string, body map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inc("energy_command")
	f.commands = append(f.commands, fleet.Command{Name: name, Params: body})
	return f.cmdErr
}

func (f *fakeFleet) set(fn func()) {
	f.mu.Lock()
	fn()
	f.mu.Unlock()
}

const testVIN = "5YJ3E1EA7PF000001"

// newTestBridge builds a bridge over fakes with one online car and one site,
// discovered and read once.
func newTestBridge(t *testing.T, mod func(*Options)) (*Bridge, *fakeFleet, *fakePub, *schedule.Manual) {
	t.Helper()
	ff := newFakeFleet()
	ff.products = []fleet.Product{
		{VIN: testVIN, DisplayName: "Red Three", State: "online"},
		{EnergySiteID: 42, SiteName: "Home", Components: &fleet.SiteComponents{Battery: entity.Ptr(true)}},
	}
	ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "online"}}
	ff.data[testVIN] = &fleet.VehicleData{VIN: testVIN, State: "online",
		Charge:  &fleet.ChargeStateData{BatteryLevel: entity.Ptr(62.0), ChargingState: entity.Ptr("Charging"), BatteryRange: entity.Ptr(200.0)},
		Climate: &fleet.ClimateStateData{InsideTemp: entity.Ptr(21.5)},
		Drive:   &fleet.DriveStateData{Latitude: entity.Ptr(52.5), Longitude: entity.Ptr(13.4), Heading: entity.Ptr(90.0)},
		Vehicle: &fleet.VehicleStateData{Locked: entity.Ptr(true), Odometer: entity.Ptr(1000.0), CarVersion: entity.Ptr("2026.32.5 abc")},
		Config:  &fleet.VehicleConfigData{CarType: entity.Ptr("model3")},
	}
	ff.live[42] = &fleet.LiveStatus{SolarPower: entity.Ptr(3000.0), PercentageCharged: entity.Ptr(55.5), GridStatus: entity.Ptr("Active")}
	ff.info[42] = &fleet.SiteInfo{ID: "x"}
	pub := newFakePub()
	sched := schedule.NewManual()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	opts := Options{
		BaseTopic: "t2m", DiscoveryPrefix: "homeassistant", Discovery: true, Version: "test",
		Schedule:  Schedule{Connectivity: "@every 1m", VehicleDataDriving: "@every 1m", VehicleDataCharging: "@every 5m", VehicleDataIdle: "@every 15m", LiveStatus: "@every 1m", SiteInfo: "@every 1h"},
		Scheduler: sched, Clock: clk, Logger: zerolog.Nop(),
	}
	if mod != nil {
		mod(&opts)
	}
	b, err := New(opts, ff, pub)
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
	return b, ff, pub, sched
}

// waitResult returns the next command result published, decoded.
func (p *fakePub) waitResult(t *testing.T) command.Result {
	t.Helper()
	select {
	case m := <-p.results:
		var r command.Result
		if err := json.Unmarshal(m.Payload, &r); err != nil {
			t.Fatalf("result is not JSON: %s", m.Payload)
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no command result within 5s")
	}
	return command.Result{}
}

// sendAndWait sends payload to topic and returns the next message
// published on watch (the reply: a response, a republished config).
func (p *fakePub) sendAndWait(t *testing.T, topic, payload, watch string) mqtt.Message {
	t.Helper()
	ch := p.Watch(watch)
	p.Send(topic, payload)
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing on %s within 5s after %s", watch, topic)
	}
	return mqtt.Message{}
}

// noResult checks that no further result was published.
func (p *fakePub) noResult(t *testing.T) {
	t.Helper()
	select {
	case m := <-p.results:
		t.Fatalf("unexpected extra result: %s", m.Payload)
	default:
	}
}

func (f *fakeFleet) sent() []fleet.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fleet.Command(nil), f.commands...)
}

func (f *fakeFleet) callCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}
