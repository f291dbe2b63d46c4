package bridge

import (
	"reflect"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

const setBase = "t2m/" + testVIN + "/set"

func TestSetChargeLimitRunsOneCommand(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	for len(ff.dataRead) > 0 {
		<-ff.dataRead
	}
	pub.Send(setBase+"/charge_limit", "80")
	r := pub.waitResult(t)
	if r.Status != command.StatusOK || r.Key != "charge_limit" || r.Command != "set_charge_limit" || r.Woke {
		t.Fatalf("result = %+v", r)
	}
	want := []fleet.Command{{Name: "set_charge_limit", Params: map[string]any{"percent": 80}}}
	if got := ff.sent(); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	select {
	case <-ff.dataRead:
	case <-time.After(5 * time.Second):
		t.Errorf("no fresh read after the command")
	}
	pub.noResult(t)
}

func TestBadPayloadsCallNothing(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	cases := []struct {
		topic, payload, key, code string
	}{
		{setBase + "/charge_limit", "120", "charge_limit", command.CodeInvalidPayload},
		{setBase + "/charge_limit", "eighty", "charge_limit", command.CodeInvalidPayload},
		{setBase + "/battery_level", "50", "battery_level", command.CodeReadOnly},
		{setBase + "/warp_drive", "ON", "warp_drive", command.CodeUnknownKey},
		{setBase, `{"charge_limit": "x"`, "", command.CodeInvalidPayload},
		{setBase, `[80]`, "", command.CodeInvalidPayload},
	}
	for _, c := range cases {
		pub.Send(c.topic, c.payload)
		r := pub.waitResult(t)
		if r.Status != command.StatusError || r.Error == nil || r.Error.Code != c.code || r.Key != c.key {
			t.Errorf("%s %q: result = %+v", c.topic, c.payload, r)
		}
	}
	if n := len(ff.sent()); n != 0 {
		t.Errorf("%d commands reached the Fleet API", n)
	}
}

func TestJSONSetEchoesTransactionPerKey(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	pub.Send(setBase, `{"charge_limit": 75, "battery_level": 3, "sentry_mode": "ON", "transaction": "t1"}`)
	got := map[string]command.Result{}
	for i := 0; i < 3; i++ {
		r := pub.waitResult(t)
		got[r.Key] = r
		if r.Transaction != "t1" {
			t.Errorf("%s: transaction = %v", r.Key, r.Transaction)
		}
	}
	pub.noResult(t)
	if got["charge_limit"].Status != command.StatusOK || got["sentry_mode"].Status != command.StatusOK {
		t.Errorf("results = %+v", got)
	}
	if got["battery_level"].Error == nil || got["battery_level"].Error.Code != command.CodeReadOnly {
		t.Errorf("battery_level = %+v", got["battery_level"])
	}
	sent := ff.sent()
	if len(sent) != 2 || sent[0].Name != "set_charge_limit" || sent[1].Name != "set_sentry_mode" {
		t.Errorf("sent = %v (order must follow the payload)", sent)
	}
}

func TestCommandWakesSleepingCar(t *testing.T) {
	_, ff, pub, sched := newTestBridge(t, nil)
	ff.set(func() { ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "asleep"}} })
	sched.Fire("connectivity")
	// The car comes online on the second state check after wake_up.
	checks := 0
	ff.set(func() {
		ff.vehicleHook = func() {
			checks++
			if checks == 2 {
				ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "online"}}
			}
		}
	})
	pub.Send(setBase+"/sentry_mode", "ON")
	r := pub.waitResult(t)
	if r.Status != command.StatusOK || !r.Woke {
		t.Fatalf("result = %+v", r)
	}
	if ff.callCount("wake_up") != 1 || ff.callCount("vehicle") != 2 {
		t.Errorf("wake_up %d, state checks %d", ff.callCount("wake_up"), ff.callCount("vehicle"))
	}
	if st := pub.state(t, "t2m/"+testVIN); st["state"] != "online" {
		t.Errorf("state after wake = %v", st["state"])
	}
}

func TestWakeThatNeverCompletes(t *testing.T) {
	// A max_age beyond the wake timeout, so the wake's own bound shows.
	_, ff, pub, sched := newTestBridge(t, func(o *Options) { o.Commands.MaxAge = 5 * time.Minute })
	ff.set(func() { ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "asleep"}} })
	sched.Fire("connectivity")
	pub.Send(setBase+"/sentry_mode", "ON")
	r := pub.waitResult(t)
	if r.Status != command.StatusError || r.Error.Code != command.CodeVehicleAsleep {
		t.Fatalf("result = %+v", r)
	}
	if len(ff.sent()) != 0 {
		t.Error("command sent to a car that never woke")
	}
	// 60 s timeout / 5 s checks: bounded, about a dozen state checks.
	if n := ff.callCount("vehicle"); n < 10 || n > 14 {
		t.Errorf("%d state checks during the wake", n)
	}
}

func TestMissingScopeRefusedWithoutCall(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, func(o *Options) {
		o.GrantedScopes = func() []string { return []string{"vehicle_device_data", "vehicle_location"} }
		o.ClientID = "abc"
	})
	pub.Send(setBase+"/charge_limit", "80")
	r := pub.waitResult(t)
	if r.Error == nil || r.Error.Code != command.CodeMissingScope || r.Error.URL == "" {
		t.Fatalf("result = %+v", r)
	}
	if len(ff.sent()) != 0 {
		t.Error("command sent without the scope")
	}
}

func TestDenyListAndRateLimit(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, func(o *Options) {
		o.Commands.Deny = []string{"unlock"}
		o.Commands.RateLimitPerMinute = 3
	})
	pub.Send(setBase+"/locked", "UNLOCK")
	if r := pub.waitResult(t); r.Error == nil || r.Error.Code != command.CodeCommandDenied {
		t.Fatalf("unlock = %+v", r)
	}
	for i := 0; i < 3; i++ {
		pub.Send(setBase+"/locked", "LOCK")
		if r := pub.waitResult(t); r.Status != command.StatusOK {
			t.Fatalf("lock %d = %+v", i, r)
		}
	}
	pub.Send(setBase+"/locked", "LOCK")
	r := pub.waitResult(t)
	if r.Error == nil || r.Error.Code != command.CodeRateLimited || r.Error.RetryAfter <= 0 {
		t.Fatalf("4th lock = %+v", r)
	}
	if n := len(ff.sent()); n != 3 {
		t.Errorf("%d commands sent, want 3", n)
	}
}

func TestCarAnswersAreClassified(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	cases := []struct {
		cr     *fleet.CommandResult
		err    error
		status string
		code   string
	}{
		{&fleet.CommandResult{Result: false, Reason: "already_set"}, nil, command.StatusOK, ""},
		{&fleet.CommandResult{Result: false, Reason: "disconnected"}, nil, command.StatusError, command.CodeCarRefused},
		{nil, &fleet.APIError{Status: 0, Kind: fleet.ErrTimeout}, command.StatusUnknown, command.CodeTimeout},
		{nil, &fleet.APIError{Status: 429, Kind: fleet.ErrRateLimited, RetryAfter: 30e9}, command.StatusError, command.CodeRateLimited},
		{nil, &fleet.APIError{Status: 403, Kind: fleet.ErrProtocolRequired}, command.StatusError, command.CodeSigningRequired},
		{nil, &fleet.APIError{Status: 403, Kind: fleet.ErrExceededLimit}, command.StatusError, command.CodeBudgetExceeded},
		{nil, &fleet.APIError{Status: 412, Kind: fleet.ErrNotRegistered}, command.StatusError, command.CodeRegionNotRegistd},
		{nil, &fleet.APIError{Status: 401, Kind: fleet.ErrUnauthorized}, command.StatusError, command.CodeLoginRequired},
		{nil, &fleet.APIError{Status: 503, Kind: fleet.ErrServer}, command.StatusUnknown, command.CodeFleetError},
	}
	for _, c := range cases {
		ff.set(func() { ff.cmdResult, ff.cmdErr = c.cr, c.err })
		pub.Send(setBase+"/charge_limit", "81")
		r := pub.waitResult(t)
		code := ""
		if r.Error != nil {
			code = r.Error.Code
		}
		if r.Status != c.status || code != c.code {
			t.Errorf("%+v %v: status %s code %s, want %s %s", c.cr, c.err, r.Status, code, c.status, c.code)
		}
		if c.code == command.CodeCarRefused && r.Error.Message != "disconnected" {
			t.Errorf("car_refused message = %q, want the car's reason", r.Error.Message)
		}
		if c.code == command.CodeRateLimited && r.Error.RetryAfter != 30 {
			t.Errorf("retry_after = %d", r.Error.RetryAfter)
		}
	}
}
