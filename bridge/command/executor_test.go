package command

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// target records what the executor makes of its jobs. send, when set,
// answers each command; the default succeeds.
type target struct {
	name    string
	send    func(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, bool, error)
	results chan Result
	settled chan bool // the confirm flag of each Settle
}

func newTarget(name string) *target {
	return &target{name: name, results: make(chan Result, 64), settled: make(chan bool, 64)}
}

func (t *target) Name() string { return t.name }
func (t *target) UID() string  { return "5YJ3E1EA7PF000001" }
func (t *target) Publish(r Result) {
	t.results <- r
}
func (t *target) Settle(_ context.Context, _ Result, confirm bool) { t.settled <- confirm }
func (t *target) Send(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, Sent, error) {
	if t.send != nil {
		cr, woke, err := t.send(ctx, cmd)
		return cr, Sent{Woke: woke, Via: "fleet"}, err
	}
	return &fleet.CommandResult{Result: true}, Sent{Via: "fleet"}, nil
}

func (t *target) next(tb testing.TB) Result {
	tb.Helper()
	select {
	case r := <-t.results:
		return r
	case <-time.After(5 * time.Second):
		tb.Fatal("no result within 5 s")
	}
	return Result{}
}

// run starts an executor until the test ends.
func run(t *testing.T, o Options) (*Executor, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	if o.Clock == nil {
		o.Clock = clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	}
	if o.RateLimitPerMinute == 0 {
		o.RateLimitPerMinute = 10
	}
	o.Logger = zerolog.Nop()
	e := NewExecutor(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, cancel, done
}

func job(key, name, group string) Job {
	return Job{Key: key, Cmd: fleet.Command{Name: name, Params: map[string]any{}}, Group: group,
		Scopes: []string{fleet.ScopeVehicleCmds}, Transaction: key}
}

// Admission happens before any Fleet call: the deny list, the per-device
// rate limit and the token's scopes each answer with their own code.
func TestExecutorAdmission(t *testing.T) {
	granted := map[string]bool{fleet.ScopeVehicleCmds: true}
	var mu sync.Mutex
	e, _, _ := run(t, Options{Deny: []string{"unlock"}, RateLimitPerMinute: 2, ClientID: "app",
		Granted: func() map[string]bool { mu.Lock(); defer mu.Unlock(); return granted }})
	tg := newTarget("car")
	// Every admitted or refused command settles once; refusals read
	// nothing. Each is settled before the next is sent: a job queued
	// behind another shares its confirming read.
	settles := 0
	settled := func(want bool) {
		t.Helper()
		if got := <-tg.settled; got != want {
			t.Errorf("settle %d: confirm = %v, want %v", settles, got, want)
		}
		settles++
	}
	e.Enqueue(tg, job("locked", "door_unlock", "unlock"))
	if r := tg.next(t); r.Status != StatusError || r.Code() != CodeCommandDenied || r.Transaction != "locked" {
		t.Errorf("denied group: %+v", r)
	}
	settled(false)
	for range 2 {
		e.Enqueue(tg, job("charge_limit", "set_charge_limit", "charging"))
		if r := tg.next(t); r.Status != StatusOK {
			t.Errorf("admitted command: %+v", r)
		}
		settled(true)
	}
	e.Enqueue(tg, job("charge_limit", "set_charge_limit", "charging"))
	if r := tg.next(t); r.Code() != CodeRateLimited || r.Error.RetryAfter != 61 {
		t.Errorf("third command in a minute: %+v", r.Error)
	}
	settled(false)
	e2, _, _ := run(t, Options{ClientID: "app", Granted: func() map[string]bool { return map[string]bool{} }})
	e2.Enqueue(tg, job("sentry_mode", "set_sentry_mode", "sentry"))
	if r := tg.next(t); r.Code() != CodeMissingScope || !strings.Contains(r.Error.URL, "app") {
		t.Errorf("missing scope: %+v", r.Error)
	}
	settled(false)
}

// A full queue, a device that left and a bridge that stops: every job
// still gets exactly one result, and nothing waits behind a stuck car.
func TestExecutorAnswersEveryJobOnce(t *testing.T) {
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	e, cancel, done := run(t, Options{Clock: clk, RateLimitPerMinute: 100})
	started := make(chan struct{}, 1)
	stuck := newTarget("stuck")
	stuck.send = func(ctx context.Context, _ fleet.Command) (*fleet.CommandResult, bool, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, false, &fleet.APIError{Endpoint: fleet.CallCommand, Kind: fleet.ErrNetwork, Message: ctx.Err().Error()}
	}
	e.Enqueue(stuck, job("k0", "honk_horn", "horn_lights"))
	<-started
	for i := range queueSize {
		e.Enqueue(stuck, job("k", "honk_horn", "horn_lights"))
		_ = i
	}
	e.Enqueue(stuck, job("overflow", "honk_horn", "horn_lights"))
	if r := stuck.next(t); r.Key != "overflow" || r.Code() != CodeOverloaded {
		t.Fatalf("17th waiting command: %+v", r)
	}
	// Another device is not held up by the stuck one.
	other := newTarget("other")
	e.Enqueue(other, job("flash", "flash_lights", "horn_lights"))
	if r := other.next(t); r.Status != StatusOK {
		t.Errorf("other device: %+v", r)
	}
	// The device leaves: its waiting commands are answered at once.
	gone := newTarget("gone")
	block, inFlight := make(chan struct{}), make(chan struct{})
	gone.send = func(context.Context, fleet.Command) (*fleet.CommandResult, bool, error) {
		close(inFlight)
		<-block
		return &fleet.CommandResult{Result: true}, false, nil
	}
	e.Enqueue(gone, job("a", "honk_horn", "horn_lights"))
	<-inFlight
	e.Enqueue(gone, job("b", "honk_horn", "horn_lights"))
	e.Remove(gone)
	e.Enqueue(gone, job("c", "honk_horn", "horn_lights"))
	close(block)
	seen := map[string]string{}
	for range 3 {
		r := gone.next(t)
		seen[r.Key] = r.Status
		if r.Key != "a" && !strings.Contains(r.Error.Message, "left the account") {
			t.Errorf("%s after removal: %+v", r.Key, r.Error)
		}
	}
	if seen["a"] != StatusOK {
		t.Errorf("the command in flight at removal: %v", seen)
	}
	// Shutdown: the command in flight gets the grace, then its context
	// ends and it is unknown (it may have run); the waiting ones are then
	// refused without being sent.
	cancel()
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(commandGrace)
	if r := stuck.next(t); r.Key != "k0" || r.Status != StatusUnknown {
		t.Errorf("the command cut off at shutdown: %+v", r)
	}
	refused := 0
	for range queueSize {
		if r := stuck.next(t); strings.Contains(r.Error.Message, "shutting down") {
			refused++
		}
	}
	if refused != queueSize {
		t.Errorf("%d of %d waiting commands refused at shutdown", refused, queueSize)
	}
	<-done
	e.Enqueue(other, job("late", "flash_lights", "horn_lights"))
	if r := other.next(t); r.Key != "late" || !strings.Contains(r.Error.Message, "shutting down") {
		t.Errorf("a command after Run ended: %+v", r)
	}
}

// classify turns each outcome into the result users see; status unknown
// exactly when the command may have run.
func TestClassify(t *testing.T) {
	o := Options{WakeTimeout: time.Minute, Domain: "example.com", ClientID: "app"}
	tg := newTarget("car")
	unsent := &fleet.APIError{Endpoint: fleet.CallCommand, Kind: fleet.ErrNetwork, Unsent: true,
		Message: (&net.OpError{Op: "dial", Err: errors.New("refused")}).Error()}
	for _, c := range []struct {
		name   string
		cr     *fleet.CommandResult
		err    error
		status string
		code   string
		note   string
	}{
		{"ok", &fleet.CommandResult{Result: true}, nil, StatusOK, "", ""},
		{"already set", &fleet.CommandResult{Reason: "car could not execute command: already_set"}, nil, StatusOK, "", "the car already had this setting (already_set)"},
		{"refused", &fleet.CommandResult{Reason: "disconnected"}, nil, StatusError, CodeCarRefused, ""},
		{"no result", nil, nil, StatusUnknown, CodeFleetError, ""},
		{"asleep after the wake", nil, ErrWakeTimeout, StatusError, CodeVehicleAsleep, ""},
		{"offline after the wake", nil, errCarOffline, StatusError, CodeVehicleOffline, ""},
		{"offline", nil, fleet.ErrOffline, StatusError, CodeVehicleOffline, ""},
		{"not paired", nil, fleet.ErrKeyNotPaired, StatusError, CodeKeyNotPaired, ""},
		{"may have succeeded", nil, fleet.ErrMayHaveSucceeded, StatusUnknown, CodeTimeout, ""},
		{"gateway gave up", nil, &fleet.APIError{Endpoint: "command", Status: 504, Kind: fleet.ErrServer}, StatusUnknown, CodeFleetError, ""},
		{"connection cut", nil, &fleet.APIError{Endpoint: "command", Kind: fleet.ErrNetwork}, StatusUnknown, CodeFleetError, ""},
		{"never sent", nil, unsent, StatusError, CodeFleetError, ""},
		{"hard cap", nil, &fleet.APIError{Endpoint: "command", Kind: fleet.ErrExceededLimit}, StatusError, CodeBudgetExceeded, ""},
	} {
		var res Result
		classify(o, tg, c.cr, c.err, &res)
		if res.Status != c.status || res.Code() != c.code || res.Note != c.note {
			t.Errorf("%s: %s/%s %q, want %s/%s %q", c.name, res.Status, res.Code(), res.Note, c.status, c.code, c.note)
		}
	}
	if errCarOffline.Error() != "the car did not come online in time: the car is offline (no connection)" {
		t.Errorf("offline message = %q", errCarOffline)
	}
}

// A device removed before its worker started has its commands answered by
// Remove itself.
func TestExecutorRemoveBeforeRun(t *testing.T) {
	e := NewExecutor(Options{Clock: clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)), Logger: zerolog.Nop()})
	tg := newTarget("car")
	e.Enqueue(tg, job("a", "honk_horn", "horn_lights"))
	e.Remove(tg)
	if r := tg.next(t); r.Key != "a" || !strings.Contains(r.Error.Message, "left the account") {
		t.Errorf("queued before removal: %+v", r)
	}
}
