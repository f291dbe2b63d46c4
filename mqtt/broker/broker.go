// Package broker runs the optional embedded MQTT broker (mochi-mqtt), for
// users who have no broker of their own. The bridge reaches it over loopback
// with its ordinary MQTT client, so there is one code path either way.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// DefaultAddr is where the broker listens when Options.Addr is empty:
// loopback only, so nothing is exposed until the user asks for it.
const DefaultAddr = "127.0.0.1:1883"

// ErrAddrInUse is wrapped by Start's error when the listen address is taken,
// usually by a broker that is already running (Mosquitto).
var ErrAddrInUse = errors.New("address in use")

// Options configure a Broker.
type Options struct {
	// Addr is the TCP host:port to listen on (default DefaultAddr). Port 0
	// picks a free port; Addr() then tells which.
	Addr string
	// Logger receives mochi's log records.
	Logger zerolog.Logger
}

// Broker is the embedded broker. Retained messages live in memory: they are
// lost on restart, and the bridge republishes everything when it reconnects.
type Broker struct {
	opts      Options
	srv       *mochi.Server
	addr      string
	closeOnce sync.Once
}

// New returns a Broker for opts; it does not listen until Start.
func New(opts Options) *Broker {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	return &Broker{opts: opts}
}

// Start binds the listen address and starts serving in the background. The
// socket is bound here, before mochi's Serve, so that "address in use" is
// returned to the caller at startup instead of being logged by a goroutine.
func (b *Broker) Start() error {
	if b.srv != nil {
		return errors.New("broker: already started")
	}
	ln, err := net.Listen("tcp", b.opts.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &addrInUseError{addr: b.opts.Addr, err: err}
		}
		return fmt.Errorf("cannot listen on %s: %w", b.opts.Addr, err)
	}

	srv := mochi.New(&mochi.Options{
		InlineClient: false, // the bridge connects over loopback like any client
		Logger:       slog.New(zerolog.NewSlogHandler(b.opts.Logger)),
	})
	// Everyone may connect and use every topic for now; it listens on
	// loopback by default. Authentication and ACLs come with the config.
	if err := srv.AddHook(new(allowHook), nil); err != nil {
		_ = ln.Close()
		return fmt.Errorf("broker: add auth hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("t1", ln)); err != nil {
		_ = ln.Close()
		return fmt.Errorf("broker: add listener: %w", err)
	}
	if err := srv.Serve(); err != nil { // returns at once; serving runs in goroutines
		_ = srv.Close()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.srv = srv
	b.addr = ln.Addr().String()
	return nil
}

// Addr returns the bound host:port (the real port when Options.Addr asked
// for port 0), or "" before Start.
func (b *Broker) Addr() string { return b.addr }

// Close disconnects all clients and stops listening. It is idempotent and a
// no-op before a successful Start.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		if b.srv != nil {
			err = b.srv.Close()
		}
	})
	return err
}

// addrInUseError explains the one startup failure users actually hit: a
// broker they already run holds the port. Is(ErrAddrInUse) matches it, and
// Unwrap keeps the system error reachable.
type addrInUseError struct {
	addr string
	err  error
}

func (e *addrInUseError) Error() string {
	return fmt.Sprintf("cannot listen on %s: the address is in use — another MQTT broker (e.g. Mosquitto) is probably running there; "+
		"point the bridge at it with --mqtt-url tcp://%s (or [mqtt] url in the config), or choose another address with --mqtt-addr",
		e.addr, dialAddr(e.addr))
}

func (e *addrInUseError) Is(target error) bool { return target == ErrAddrInUse }

func (e *addrInUseError) Unwrap() error { return e.err }

// dialAddr turns a listen address into one a client can dial: ":1883" and
// "0.0.0.0:1883" listen everywhere, but the suggested URL needs a real host.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// allowHook lets every client connect and use every topic, exactly like
// mochi's auth.AllowHook. It is ours because importing mochi's hooks/auth
// package drags in gopkg.in/yaml.v3 (for its ledger files), which the module
// does not otherwise need.
type allowHook struct{ mochi.HookBase }

// ID names the hook in mochi's logs.
func (h *allowHook) ID() string { return "allow-all" }

// Provides declares the two checks the hook answers.
func (h *allowHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// OnConnectAuthenticate accepts every client.
func (h *allowHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

// OnACLCheck allows every topic, read and write.
func (h *allowHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }
