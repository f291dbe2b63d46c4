package bridge

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// syncBuf is a log sink the test reads while the bridge writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Regression (issue 19): retained set, set/<key> and get messages are
// never executed: each is answered retained_ignored once (the same
// message handed over again is not answered again) and cleared with an
// empty retained publish, which the bridge then ignores when it comes
// back.
func TestRetainedCommandsAreAnsweredOnceAndCleared(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	before := ff.callCount("vehicle_data")
	for _, m := range []struct{ topic, payload string }{
		{setBase + "/locked", "UNLOCK"},
		{"t2m/" + testVIN + "/set", `{"locked":false,"transaction":"r1"}`},
		{"t2m/" + testVIN + "/get", "x"},
	} {
		if err := pub.Publish(m.topic, []byte(m.payload), true); err != nil { // the broker keeps it
			t.Fatal(err)
		}
		for range 2 { // two connects hand it over twice
			pub.Inject(mqtt.Message{Topic: m.topic, Payload: []byte(m.payload), Retained: true})
		}
		r := pub.waitResult(t)
		if r.Code() != command.CodeRetainedIgnored {
			t.Fatalf("%s: result %+v, want retained_ignored", m.topic, r)
		}
		if _, ok := pub.Retained(m.topic); ok {
			t.Errorf("%s is still retained", m.topic)
		}
		pub.noResult(t)
	}
	if len(ff.sent()) != 0 || ff.callCount("vehicle_data") != before {
		t.Fatalf("retained messages reached the Fleet API: %v, %d reads", ff.sent(), ff.callCount("vehicle_data")-before)
	}
	pub.Inject(mqtt.Message{Topic: "t2m/bridge/request/republish", Payload: []byte(`{"transaction":"rr"}`), Retained: true})
	if m, _ := pub.Last("t2m/bridge/response/republish"); !strings.Contains(string(m.Payload), "retained_ignored") || !strings.Contains(string(m.Payload), `"rr"`) {
		t.Errorf("retained bridge request answered %s", m.Payload)
	}
}

// A drop notice from the MQTT client (its lane was full) is answered
// overloaded, with the transaction when the kept start of the payload has
// it; nothing runs.
func TestDroppedMessagesAreAnsweredOverloaded(t *testing.T) {
	_, ff, pub, _ := newTestBridge(t, nil)
	payload := `{"transaction":"d1","charge_limit":8` // cut short, as notices are
	pub.Inject(mqtt.Message{Topic: "t2m/" + testVIN + "/set", Payload: []byte(payload), Dropped: true})
	r := pub.waitResult(t)
	if r.Code() != command.CodeOverloaded || r.Transaction != "d1" {
		t.Fatalf("result %+v, want overloaded with transaction d1", r)
	}
	pub.Inject(mqtt.Message{Topic: setBase + "/charge_limit", Payload: []byte("80"), Dropped: true})
	if r := pub.waitResult(t); r.Code() != command.CodeOverloaded || r.Key != "charge_limit" {
		t.Fatalf("result %+v, want overloaded for charge_limit", r)
	}
	if len(ff.sent()) != 0 {
		t.Fatal("a dropped message was executed")
	}
}

// Regression (issue 19): one set with 100,000 keys held every device for
// 22 s, and a 10 MB key name ended up in the retained state and the log.
// Now a set names at most 32 keys, a key at most 64 bytes, a payload at
// most 16 KiB; each refusal is one invalid_payload result, and what the
// sender wrote is cut short wherever it is repeated.
func TestSetLimits(t *testing.T) {
	var logs syncBuf
	_, ff, pub, _ := newTestBridge(t, func(o *Options) { o.Logger = zerolog.New(&logs) })
	var many strings.Builder
	many.WriteString("{")
	for i := range 33 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
	}
	many.WriteString("}")
	long := strings.Repeat("K", 10<<10)
	for _, m := range []struct{ topic, payload string }{
		{"t2m/" + testVIN + "/set", many.String()},
		{"t2m/" + testVIN + "/set", `{"` + long + `":1}`},
		{setBase + "/" + long, "1"},
		{"t2m/" + testVIN + "/set", `{"charge_limit":80,"pad":"` + strings.Repeat("p", 17<<10) + `"}`},
	} {
		pub.Send(m.topic, m.payload)
		r := pub.waitResult(t)
		if r.Code() != command.CodeInvalidPayload || len(r.Key) > command.MaxKeyLen || len(r.Error.Message) > 200 {
			t.Errorf("%.40s…: result key %d bytes, %+v", m.payload, len(r.Key), r.Error)
		}
	}
	if len(ff.sent()) != 0 {
		t.Fatal("a refused set reached the Fleet API")
	}
	state, _ := pub.Retained("t2m/" + testVIN)
	if bytes.Contains(state, []byte(strings.Repeat("K", 100))) || strings.Contains(logs.String(), strings.Repeat("K", 100)) {
		t.Error("the long key reached the retained state or the log")
	}
}

// Regression (issue 19): one warning per rejected message filled 68 MB in
// 30 minutes. Now a flood of refusals for one device logs one line a
// minute per reason, the next one with the count held back.
func TestRejectionWarningsAreRateLimited(t *testing.T) {
	var logs syncBuf
	b, _, pub, _ := newTestBridge(t, func(o *Options) { o.Logger = zerolog.New(&logs) })
	warnings := func() int { return strings.Count(logs.String(), `"reason":"invalid_payload"`) }
	for range 500 {
		pub.Send(setBase+"/charge_limit", "not a number")
		pub.waitResult(t)
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings for 500 refused messages, want 1", n)
	}
	b.opts.Clock.(interface{ Advance(time.Duration) }).Advance(time.Minute)
	pub.Send(setBase+"/charge_limit", "not a number")
	pub.waitResult(t)
	if n := warnings(); n != 2 || !strings.Contains(logs.String(), `"suppressed":499`) {
		t.Fatalf("after a minute: %d warnings, want 2, the second with suppressed 499:\n%s", n, logs.String())
	}
}

// Regression (issue 19): 100 Home Assistant births in 10 s made 31,200
// discovery publishes, and 200 republish requests stalled the dispatcher.
// Now republishes are coalesced (one running, one pending) and answered
// off the dispatcher: a storm of births and requests makes a handful.
func TestRepublishStormIsCoalesced(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	topic := "homeassistant/sensor/tesla2mqtt_" + testVIN + "_battery_level/config"
	before := pub.Count(topic)
	for range 100 {
		pub.Send("homeassistant/status", "online")
	}
	responses := pub.Watch("t2m/bridge/response/republish")
	for range 200 {
		pub.Send("t2m/bridge/request/republish", "{}")
	}
	for range 200 {
		select {
		case <-responses:
		case <-time.After(5 * time.Second):
			t.Fatal("a republish request got no response")
		}
	}
	if n := pub.Count(topic) - before; n < 1 || n > 6 {
		t.Fatalf("%d republishes for 100 births and 200 requests, want a few", n)
	}
}

// Regression (issue 19): another client could set bridge/state offline
// and a republish did not restore it.
func TestRepublishRestoresBridgeState(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	if err := pub.Publish("t2m/bridge/state", []byte("offline"), true); err != nil {
		t.Fatal(err)
	}
	pub.sendAndWait(t, "t2m/bridge/request/republish", "{}", "t2m/bridge/response/republish")
	if p, _ := pub.Retained("t2m/bridge/state"); string(p) != "online" {
		t.Fatalf("bridge/state after a republish = %q", p)
	}
}

// A sender's own deadline: ttl and expires_at shorten max_age. A command
// for a sleeping car with ttl 1 expires during the wake; one whose
// expires_at has passed expires before any wake is paid for.
func TestSenderDeadline(t *testing.T) {
	_, ff, pub, sched := newTestBridge(t, nil)
	ff.set(func() { ff.vehicles = []fleet.Vehicle{{VIN: testVIN, State: "asleep"}} })
	sched.Fire("connectivity")
	pub.Send("t2m/"+testVIN+"/set", `{"charge_limit":80,"expires_at":"2020-01-01T00:00:00Z","transaction":"past"}`)
	if r := pub.waitResult(t); r.Code() != command.CodeExpired || r.Transaction != "past" {
		t.Fatalf("result %+v, want expired", r)
	}
	if n := ff.callCount("wake_up"); n != 0 {
		t.Fatalf("%d wake_up calls for a command already past its deadline", n)
	}
	pub.Send("t2m/"+testVIN+"/set", `{"charge_limit":80,"ttl":1,"transaction":"short"}`)
	if r := pub.waitResult(t); r.Code() != command.CodeExpired || r.Transaction != "short" {
		t.Fatalf("result %+v, want expired", r)
	}
	if len(ff.sent()) != 0 {
		t.Fatal("an expired command was sent")
	}
	for _, bad := range []string{`{"charge_limit":80,"ttl":-1}`, `{"charge_limit":80,"expires_at":"tomorrow"}`} {
		pub.Send("t2m/"+testVIN+"/set", bad)
		if r := pub.waitResult(t); r.Code() != command.CodeInvalidPayload {
			t.Errorf("%s: %+v", bad, r)
		}
	}
}
