package mqtt_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/leakcheck"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

func TestPublishRetainedAndWildcards(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	pub := connected(t, b.URL(), nil)
	if err := pub.Publish("x/a/state", []byte("42"), true); err != nil {
		t.Fatal(err)
	}

	// Handlers registered before Connect are subscribed by the time it returns.
	sub := newClient(t, b.URL(), nil)
	plus := record(t, sub, "x/+/state")
	hash := record(t, sub, "x/#")
	if err := sub.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan mqtt.Message{plus, hash} {
		if m := next(t, ch); m.Topic != "x/a/state" || string(m.Payload) != "42" || !m.Retained {
			t.Fatalf("got %+v, want retained x/a/state=42", m)
		}
	}

	if err := pub.Publish("x/b/other", []byte("1"), false); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("x/b/state", []byte("2"), false); err != nil {
		t.Fatal(err)
	}
	expect(t, hash, "x/b/other", "1")
	// expect skips the retained duplicates: overlapping filters each get
	// the retained message from the broker, and at-least-once allows it.
	if m := expect(t, plus, "x/b/state", "2"); m.Retained {
		t.Fatalf("x/+/state got %+v, want live", m)
	}

	expect(t, hash, "x/b/state", "2")

	// After Unsubscribe the handler gets nothing more. Handlers of one
	// message run in filter order ("x/#" first), so once x/+/state has
	// x/c/state, a still-registered x/# would have it too.
	if err := sub.Unsubscribe("x/#"); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("x/c/state", []byte("3"), false); err != nil {
		t.Fatal(err)
	}
	expect(t, plus, "x/c/state", "3")
	// What x/# still holds may include late retained duplicates of
	// x/a/state from the overlapping subscriptions; x/c/state must not be
	// among it.
	for {
		select {
		case m := <-hash:
			if m.Topic == "x/c/state" {
				t.Fatalf("unsubscribed handler got %+v", m)
			}
			continue
		default:
		}
		break
	}
}

func TestLastWillOnCutConnectionThenReconnect(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	p := newProxy(t, b.addr)
	onConnect, connects := signal()
	c := newClient(t, p.URL(), func(o *mqtt.Options) {
		o.WillTopic, o.WillPayload, o.OnlinePayload = "app/state", "offline", "online"
	})
	c.OnConnect(onConnect)
	cmds := record(t, c, "app/cmd/+")
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, connects, "first connect")

	obs := connected(t, b.URL(), nil)
	state := record(t, obs, "app/state")
	expect(t, state, "app/state", "online")

	p.SetDown(true) // dead network: the broker must fire the will
	expect(t, state, "app/state", "offline")
	if got := retained(t, b.URL(), "app/state"); got != "offline" {
		t.Fatalf("retained state %q, want offline", got)
	}

	p.SetDown(false)
	wait(t, connects, "reconnect")
	expect(t, state, "app/state", "online")
	if n := c.Reconnects(); n != 1 {
		t.Fatalf("Reconnects() = %d, want 1", n)
	}
	// The clean session forgot the subscription; it must have been re-made.
	if err := obs.Publish("app/cmd/go", []byte("now"), false); err != nil {
		t.Fatal(err)
	}
	expect(t, cmds, "app/cmd/go", "now")
}

func TestBrokerRestartResubscribes(t *testing.T) {
	b1 := startBroker(t, "127.0.0.1:0")
	onConnect, connects := signal()
	c := newClient(t, b1.URL(), nil)
	c.OnConnect(onConnect)
	got := record(t, c, "r/#")
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, connects, "first connect")

	b1.Close()
	b2 := startBroker(t, b1.addr) // same port: the client's URL still works
	wait(t, connects, "reconnect to the new broker")
	if !c.IsConnected() || c.Reconnects() != 1 {
		t.Fatalf("IsConnected=%v Reconnects=%d, want true 1", c.IsConnected(), c.Reconnects())
	}
	pub := connected(t, b2.URL(), nil)
	if err := pub.Publish("r/a", []byte("hi"), false); err != nil {
		t.Fatal(err)
	}
	expect(t, got, "r/a", "hi")
}

func TestPanickingHandlerDoesNotStopDispatch(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	c := connected(t, b.URL(), nil)
	ok := make(chan mqtt.Message, 4)
	err := c.Subscribe("p/+", func(m mqtt.Message) {
		if string(m.Payload) == "boom" {
			panic("handler bug")
		}
		ok <- m
	})
	if err != nil {
		t.Fatal(err)
	}
	c.OnConnect(func() { panic("callback bug") }) // must not hurt either
	for _, s := range []string{"boom", "fine"} {
		if err := c.Publish("p/x", []byte(s), false); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, ok, "p/x", "fine")
}

func TestCloseLeavesWillPayloadRetained(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	c := connected(t, b.URL(), func(o *mqtt.Options) {
		o.WillTopic, o.WillPayload, o.OnlinePayload = "app/state", "offline", "online"
	})
	if got := retained(t, b.URL(), "app/state"); got != "online" {
		t.Fatalf("after connect: %q, want online", got)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := retained(t, b.URL(), "app/state"); got != "offline" {
		t.Fatalf("after Close: %q, want offline", got)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "tcp://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	err = newClient(t, url, nil).Connect(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "mqtt: cannot connect to "+url+": ") {
		t.Fatalf("err = %v, want mqtt: cannot connect to %s: …", err, url)
	}
}

func TestConnectBoundedByContext(t *testing.T) {
	// A peer that accepts TCP but never answers CONNECT.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	c := newClient(t, "tcp://"+ln.Addr().String(), func(o *mqtt.Options) { o.ConnectTimeout = 30 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Connect(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "cannot connect to") {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Connect took %s, ctx allowed 200ms", d)
	}
}

func TestConnectInvalidURL(t *testing.T) {
	if err := mqtt.New(mqtt.Options{URL: "localhost:1883"}).Connect(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "invalid broker URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestPublishWhileDisconnected(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	c := newClient(t, b.URL(), nil)
	if c.IsConnected() {
		t.Fatal("IsConnected before Connect")
	}
	if err := c.Publish("a/b", []byte("1"), false); !errors.Is(err, mqtt.ErrNotConnected) {
		t.Fatalf("publish before Connect: %v, want mqtt.ErrNotConnected", err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !c.IsConnected() {
		t.Fatal("IsConnected false after Connect")
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish("a/b", []byte("1"), false); !errors.Is(err, mqtt.ErrNotConnected) {
		t.Fatalf("publish after Close: %v, want mqtt.ErrNotConnected", err)
	}
}

func TestSubscribeRejectsInvalidFilter(t *testing.T) {
	c := newClient(t, "tcp://127.0.0.1:1", nil)
	for _, f := range []string{"", "a/#/b", "a+/b", "a/b#"} {
		if err := c.Subscribe(f, func(mqtt.Message) {}); err == nil {
			t.Errorf("Subscribe(%q) accepted", f)
		}
	}
	if err := c.Publish("a/+", nil, false); err == nil {
		t.Error("Publish to a wildcard topic accepted")
	}
}

// TestClientOwnsItsGoroutines: New starts nothing (a client that is never
// connected needs no Close), Close ends what Connect started, and a closed
// client cannot be connected again.
func TestClientOwnsItsGoroutines(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	leakcheck.Check(t)
	_ = mqtt.New(mqtt.Options{URL: b.URL()}) // never connected, never closed

	c := mqtt.New(mqtt.Options{URL: b.URL()})
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(context.Background()); !errors.Is(err, mqtt.ErrClosed) {
		t.Fatalf("Connect after Close: %v, want ErrClosed", err)
	}
}
