package mqtt_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

// waitFor bounds every wait in these tests; it is a failure guard, not a delay.
const waitFor = 5 * time.Second

// testBroker is an in-memory mochi broker on loopback. It is built here
// rather than with mqtt/broker so that this package's files, tests included,
// stay free of the bridge's domain words (the module path contains one).
type testBroker struct {
	srv  *mochi.Server
	addr string
	once sync.Once
}

func startBroker(t testing.TB, addr string) *testBroker {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b := &testBroker{srv: srv, addr: ln.Addr().String()}
	t.Cleanup(b.Close)
	return b
}

func (b *testBroker) URL() string { return "tcp://" + b.addr }

// Close stops the broker once; mochi panics on a second Close.
func (b *testBroker) Close() { b.once.Do(func() { _ = broker.CloseServer(b.srv) }) }

type allowAll struct{ mochi.HookBase }

func (h *allowAll) ID() string { return "allow-all" }
func (h *allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// newClient returns an unconnected client with fast reconnects, closed at cleanup.
func newClient(t *testing.T, url string, edit func(*mqtt.Options)) *mqtt.Client {
	t.Helper()
	o := mqtt.Options{URL: url, ConnectTimeout: 2 * time.Second, ReconnectInterval: 50 * time.Millisecond}
	if edit != nil {
		edit(&o)
	}
	c := mqtt.New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// connected returns a client that is connected, failing the test otherwise.
func connected(t *testing.T, url string, edit func(*mqtt.Options)) *mqtt.Client {
	t.Helper()
	c := newClient(t, url, edit)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
}

// record subscribes filter and returns the channel its messages arrive on.
func record(t *testing.T, c *mqtt.Client, filter string) <-chan mqtt.Message {
	t.Helper()
	ch := make(chan mqtt.Message, 64)
	if err := c.Subscribe(filter, func(m mqtt.Message) { ch <- m }); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return ch
}

// next returns the next message on ch, failing after waitFor.
func next(t *testing.T, ch <-chan mqtt.Message) mqtt.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitFor):
		t.Fatal("no message within", waitFor)
		return mqtt.Message{}
	}
}

// expect reads messages from ch until one has topic and payload.
func expect(t *testing.T, ch <-chan mqtt.Message, topic, payload string) mqtt.Message {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case m := <-ch:
			if m.Topic == topic && string(m.Payload) == payload {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s=%q within %s", topic, payload, waitFor)
			return mqtt.Message{}
		}
	}
}

// retained reads the retained value of topic with a fresh client.
func retained(t *testing.T, url, topic string) string {
	t.Helper()
	c := connected(t, url, nil)
	defer c.Close(context.Background())
	m := next(t, record(t, c, topic))
	if !m.Retained {
		t.Fatalf("%s=%q is not retained", topic, m.Payload)
	}
	return string(m.Payload)
}

// signal returns a func that sends on the returned channel without blocking.
func signal() (func(), <-chan struct{}) {
	ch := make(chan struct{}, 16)
	return func() { ch <- struct{}{} }, ch
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("%s: nothing within %s", what, waitFor)
	}
}

// newProxy is a cut-proxy to target, closed at cleanup.
func newProxy(t *testing.T, target string) *mqtttest.Proxy {
	t.Helper()
	p, err := mqtttest.NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
