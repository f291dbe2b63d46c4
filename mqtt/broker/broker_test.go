package broker

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func start(t *testing.T, addr string) *Broker {
	t.Helper()
	b := New(Options{Addr: addr})
	if err := b.Start(); err != nil {
		t.Fatalf("start %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestAddrPortZero(t *testing.T) {
	b := start(t, "127.0.0.1:0")
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" || port == "" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:<real port>", b.Addr())
	}
	if New(Options{}).opts.Addr != DefaultAddr {
		t.Fatal("empty Addr does not default to", DefaultAddr)
	}
}

func TestAddrInUse(t *testing.T) {
	first := start(t, "127.0.0.1:0")
	err := New(Options{Addr: first.Addr()}).Start()
	if !errors.Is(err, ErrAddrInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("err = %v, want ErrAddrInUse wrapping EADDRINUSE", err)
	}
	msg := err.Error()
	for _, want := range []string{"cannot listen on " + first.Addr(), "--mqtt-url tcp://" + first.Addr(), "--mqtt-addr", "Mosquitto"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
}

func TestAddrInUseSuggestsDialableURL(t *testing.T) {
	e := &addrInUseError{addr: "0.0.0.0:1883"}
	if !strings.Contains(e.Error(), "--mqtt-url tcp://127.0.0.1:1883 ") {
		t.Fatalf("message %q suggests an undialable URL", e.Error())
	}
	if got := dialAddr(":1883"); got != "127.0.0.1:1883" {
		t.Fatalf("dialAddr(:1883) = %q", got)
	}
	if got := dialAddr("[::]:1883"); got != "127.0.0.1:1883" {
		t.Fatalf("dialAddr([::]:1883) = %q", got)
	}
	if got := dialAddr("192.0.2.1:1883"); got != "192.0.2.1:1883" {
		t.Fatalf("dialAddr(192.0.2.1:1883) = %q", got)
	}
}

// TestRetained checks that mochi keeps retained messages in memory with our
// setup: a late subscriber gets the last value.
func TestRetained(t *testing.T) {
	b := start(t, "127.0.0.1:0")
	pub := dial(t, b.Addr(), "pub")
	if tok := pub.Publish("a/state", 1, true, "on"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	got := make(chan paho.Message, 1)
	sub := dial(t, b.Addr(), "sub")
	tok := sub.Subscribe("a/#", 1, func(_ paho.Client, m paho.Message) { got <- m })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m.Topic() != "a/state" || string(m.Payload()) != "on" || !m.Retained() {
			t.Fatalf("got %s=%q retained=%v", m.Topic(), m.Payload(), m.Retained())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no retained message")
	}
}

func TestCloseIdempotent(t *testing.T) {
	if err := New(Options{}).Close(); err != nil {
		t.Fatalf("Close before Start: %v", err)
	}
	b := New(Options{Addr: "127.0.0.1:0"})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	for range 2 {
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The port is free again: a restart on the same address works.
	start(t, addr)
}

func dial(t *testing.T, addr, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}
