package mqtttest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// recorder is a handler that remembers what it got.
type recorder struct {
	mu  sync.Mutex
	got []mqtt.Message
}

func (r *recorder) handle(m mqtt.Message) {
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
}

func (r *recorder) topics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		out = append(out, fmt.Sprintf("%s=%s retained=%t", m.Topic, m.Payload, m.Retained))
	}
	return out
}

func TestRouterRecordsAndKeepsRetainedState(t *testing.T) {
	r := NewRouter()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Publish("base/dev", []byte(`{"a":1}`), true))
	must(r.Publish("base/dev/result", []byte(`ok`), false))
	must(r.Publish("base/dev", []byte(`{"a":2}`), true))
	if p, ok := r.Retained("base/dev"); !ok || string(p) != `{"a":2}` {
		t.Errorf("retained = %s %t, want the last retained publish", p, ok)
	}
	if _, ok := r.Retained("base/dev/result"); ok {
		t.Error("a live publish became retained")
	}
	if m, err := r.JSON("base/dev"); err != nil || m["a"] != 2.0 {
		t.Errorf("JSON = %v, %v", m, err)
	}
	if _, err := r.JSON("base/none"); !errors.Is(err, ErrNoRetained) {
		t.Errorf("JSON of an empty topic: %v", err)
	}
	if r.Count("base/dev") != 2 || len(r.Messages()) != 3 {
		t.Errorf("count %d, messages %d", r.Count("base/dev"), len(r.Messages()))
	}
	if last, ok := r.Last("base/dev/result"); !ok || string(last.Payload) != "ok" || last.Retained {
		t.Errorf("last = %+v", last)
	}
	must(r.Publish("base/dev", nil, true)) // an empty retained payload clears, as on a broker
	if _, ok := r.Retained("base/dev"); ok || len(r.RetainedTopics()) != 0 {
		t.Errorf("retained after clearing: %v", r.RetainedTopics())
	}
	if err := r.Publish("base/+", nil, false); err == nil {
		t.Error("publish to a wildcard topic accepted")
	}
	if err := r.Subscribe("a/#/b", func(mqtt.Message) {}); err == nil {
		t.Error("invalid filter accepted")
	}
}

func TestRouterInjectRoutesByFilter(t *testing.T) {
	r := NewRouter()
	var set, any, other recorder
	for f, h := range map[string]mqtt.Handler{"base/+/set": set.handle, "base/#": any.handle, "elsewhere/#": other.handle} {
		if err := r.Subscribe(f, h); err != nil {
			t.Fatal(err)
		}
	}
	r.Send("base/dev/set", "ON")
	r.Inject(mqtt.Message{Topic: "base/dev/set", Payload: []byte("stale"), Retained: true})
	if want := []string{"base/dev/set=ON retained=false", "base/dev/set=stale retained=true"}; !reflect.DeepEqual(set.topics(), want) {
		t.Errorf("set handler got %q, want %q", set.topics(), want)
	}
	if len(any.topics()) != 2 || len(other.topics()) != 0 {
		t.Errorf("# handler %q, other %q", any.topics(), other.topics())
	}
	// An injected retained message sits on the "broker" until cleared.
	if p, ok := r.Retained("base/dev/set"); !ok || string(p) != "stale" {
		t.Errorf("injected retained message not kept: %s %t", p, ok)
	}
	_ = r.Unsubscribe("base/#")
	r.Send("base/dev/set", "OFF")
	if len(any.topics()) != 2 || len(set.topics()) != 3 {
		t.Errorf("after unsubscribe: # handler %d, set handler %d", len(any.topics()), len(set.topics()))
	}
}

func TestRouterBrokerBehaviourOptions(t *testing.T) {
	r := NewRouter(Loopback(), ReplayRetained())
	_ = r.Publish("base/a", []byte("1"), true)
	_ = r.Publish("base/b", []byte("2"), true)
	var rec recorder
	if err := r.Subscribe("base/+", rec.handle); err != nil {
		t.Fatal(err)
	}
	want := []string{"base/a=1 retained=true", "base/b=2 retained=true"}
	if !reflect.DeepEqual(rec.topics(), want) {
		t.Fatalf("replay on subscribe = %q, want %q", rec.topics(), want)
	}
	_ = r.Publish("base/c", []byte("3"), true)
	want = append(want, "base/c=3 retained=false") // live delivery
	if !reflect.DeepEqual(rec.topics(), want) {
		t.Errorf("loopback = %q, want %q", rec.topics(), want)
	}

	plain := NewRouter()
	_ = plain.Publish("base/a", []byte("1"), true)
	var none recorder
	_ = plain.Subscribe("base/+", none.handle)
	_ = plain.Publish("base/c", []byte("3"), false)
	if len(none.topics()) != 0 {
		t.Errorf("without options the router delivered %q", none.topics())
	}
}

// TestRouterHandlersNeverOverlap: a handler that publishes (loopback)
// does not re-enter itself; the message is delivered after it returns.
func TestRouterHandlersNeverOverlap(t *testing.T) {
	r := NewRouter(Loopback())
	var order []string
	depth := 0
	_ = r.Subscribe("q/#", func(m mqtt.Message) {
		depth++
		if depth > 1 {
			t.Error("handlers overlap")
		}
		order = append(order, m.Topic)
		if m.Topic == "q/in" {
			_ = r.Publish("q/out", nil, false)
			order = append(order, "published")
		}
		depth--
	})
	r.Send("q/in", "")
	if want := []string{"q/in", "published", "q/out"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}

func TestRouterWatchAndConnect(t *testing.T) {
	r := NewRouter()
	results := r.Watch("base/+/result")
	_ = r.Publish("base/dev/state", []byte("x"), true)
	_ = r.Publish("base/dev/result", []byte(`{"status":"ok"}`), false)
	select {
	case m := <-results:
		if m.Topic != "base/dev/result" {
			t.Errorf("watch got %s", m.Topic)
		}
	default:
		t.Fatal("the result did not reach the watcher")
	}
	if len(results) != 0 {
		t.Error("the watcher got a topic it does not match")
	}
	for range watchBuffer {
		_ = r.Publish("base/dev/result", nil, false)
	}
	if err := r.Publish("base/dev/result", nil, false); err == nil {
		t.Error("a publish into a full watcher reported no error")
	}

	calls := 0
	r.OnConnect(func() { calls++ })
	r.OnConnect(func() { calls += 10 })
	r.Connect()
	r.Connect()
	if calls != 22 {
		t.Errorf("OnConnect callbacks ran %d, want both on each Connect", calls)
	}
}

func TestRouterIsSafeForConcurrentUse(t *testing.T) {
	r := NewRouter(Loopback())
	var rec recorder
	_ = r.Subscribe("c/#", rec.handle)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				_ = r.Publish(fmt.Sprintf("c/%d", i), []byte{byte(j)}, j%2 == 0)
				r.Send(fmt.Sprintf("c/in/%d", i), "x")
			}
		})
	}
	wg.Wait()
	if n := len(rec.topics()); n != 8*50*2 {
		t.Errorf("delivered %d, want %d", n, 8*50*2)
	}
}

func TestRouterDropHistoryKeepsRetainedOnly(t *testing.T) {
	r := NewRouter(DropHistory())
	_ = r.Publish("d/a", []byte("1"), true)
	_ = r.Publish("d/b", []byte("2"), false)
	if len(r.Messages()) != 0 || r.Count("d/a") != 0 {
		t.Errorf("history kept: %v", r.Messages())
	}
	if p, ok := r.Retained("d/a"); !ok || string(p) != "1" {
		t.Errorf("retained state lost: %s %t", p, ok)
	}
}
