package mqtt

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
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

func startBroker(t *testing.T, addr string) *testBroker {
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
func (b *testBroker) Close() { b.once.Do(func() { _ = b.srv.Close() }) }

type allowAll struct{ mochi.HookBase }

func (h *allowAll) ID() string { return "allow-all" }
func (h *allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// newClient returns an unconnected client with fast reconnects, closed at cleanup.
func newClient(t *testing.T, url string, edit func(*Options)) *Client {
	t.Helper()
	o := Options{URL: url, ConnectTimeout: 2 * time.Second, ReconnectInterval: 50 * time.Millisecond}
	if edit != nil {
		edit(&o)
	}
	c := New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// connected returns a client that is connected, failing the test otherwise.
func connected(t *testing.T, url string, edit func(*Options)) *Client {
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
func record(t *testing.T, c *Client, filter string) <-chan Message {
	t.Helper()
	ch := make(chan Message, 64)
	if err := c.Subscribe(filter, func(m Message) { ch <- m }); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return ch
}

// next returns the next message on ch, failing after waitFor.
func next(t *testing.T, ch <-chan Message) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitFor):
		t.Fatal("no message within", waitFor)
		return Message{}
	}
}

// expect reads messages from ch until one has topic and payload.
func expect(t *testing.T, ch <-chan Message, topic, payload string) Message {
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
			return Message{}
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

// proxy forwards TCP to a broker and can cut every connection at once,
// which looks to the broker exactly like a dead network: no DISCONNECT.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

// setDown(true) cuts all connections and refuses new ones; false lets them in again.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}
