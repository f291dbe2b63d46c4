// Package broker runs the optional embedded MQTT broker (mochi-mqtt), for
// users who have no broker of their own. The bridge reaches it over loopback
// with its ordinary MQTT client, so there is one code path either way.
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
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
	// Users may log in; with none, clients connect anonymously, which Start
	// allows only on loopback addresses.
	Users []User
	// Bridge is the bridge's own login: the one client that may publish
	// state, bridge/* and discovery topics (see ACL).
	Bridge Credentials
	// ACL names the protected topics; an empty BaseTopic protects nothing.
	ACL ACL
	// TLSAddr, when set, adds a TLS listener on host:port with the
	// certificate chain in TLSCertFile and its key in TLSKeyFile (PEM).
	TLSAddr     string
	TLSCertFile string
	TLSKeyFile  string
	// MaxPacketSize bounds every MQTT packet a client may send, the
	// bridge's included (default DefaultMaxPacketSize). A larger packet
	// ends the client's connection before its body is read, so it costs no
	// memory.
	MaxPacketSize int
	// MaxRetainedSize bounds the payload of a retained message from anyone
	// but the bridge (default DefaultMaxRetainedSize); a larger one is
	// refused, not stored.
	MaxRetainedSize int
	// Clock drives the login throttle and the expiry of retained messages
	// (default: the wall clock).
	Clock clock.Clock
	// Logger receives mochi's log records and the broker's own warnings;
	// warnings are rate-limited per kind.
	Logger zerolog.Logger
}

// DefaultMaxPacketSize is 256 KiB: far above the bridge's largest message
// (discovery configs and state are a few KiB), far below what hurts a
// Raspberry Pi (a 64 MiB publish used to cost 600 MB of RSS).
const DefaultMaxPacketSize = 256 << 10

// DefaultMaxRetainedSize is 64 KiB per retained message from other clients.
const DefaultMaxRetainedSize = 64 << 10

// ErrNoUsers is wrapped by Start's error when the broker would listen
// beyond loopback without any user configured: anyone on the network could
// then read the account's data and unlock the cars.
var ErrNoUsers = errors.New("no broker users configured")

// Broker is the embedded broker. Retained messages live in memory: they are
// lost on restart, and the bridge republishes everything when it reconnects.
type Broker struct {
	opts      Options
	srv       *mochi.Server
	expiry    *expiryHook
	addr      string
	tlsAddr   string
	closeOnce sync.Once
}

// New returns a Broker for opts; it does not listen until Start.
func New(opts Options) *Broker {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	if opts.MaxRetainedSize <= 0 {
		opts.MaxRetainedSize = DefaultMaxRetainedSize
	}
	opts.Clock = clock.OrReal(opts.Clock)
	return &Broker{opts: opts}
}

// Start binds the listen address and starts serving in the background. The
// socket is bound here, before mochi's Serve, so that "address in use" is
// returned to the caller at startup instead of being logged by a goroutine.
func (b *Broker) Start() error {
	if b.srv != nil {
		return errors.New("broker: already started")
	}
	hook, err := b.authHook()
	if err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if b.opts.TLSAddr != "" {
		cert, err := tls.LoadX509KeyPair(b.opts.TLSCertFile, b.opts.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("broker: TLS certificate %s / key %s: %w", b.opts.TLSCertFile, b.opts.TLSKeyFile, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := listen(b.opts.Addr)
	if err != nil {
		return err
	}
	lns := []*listeners.Net{listeners.NewNet("t1", ln)}
	if tlsCfg != nil {
		tln, err := listen(b.opts.TLSAddr)
		if err != nil {
			_ = ln.Close()
			return err
		}
		lns = append(lns, listeners.NewNet("tls", tls.NewListener(tln, tlsCfg)))
		b.tlsAddr = tln.Addr().String()
	}
	closeAll := func() {
		for _, l := range lns {
			l.Close(func(string) {})
		}
	}

	srv := mochi.New(b.mochiOptions())
	hook.srv = srv
	b.expiry = newExpiryHook(srv, b.opts.Clock, b.opts.Logger)
	limits := &limitsHook{id: hook.id, maxRetained: b.opts.MaxRetainedSize, warn: hook.warn}
	for _, h := range []mochi.Hook{hook, limits, b.expiry} {
		if err := srv.AddHook(h, nil); err != nil {
			closeAll()
			return fmt.Errorf("broker: add hook %s: %w", h.ID(), err)
		}
	}
	// The sweep is replaced by expiryHook, which looks only at the
	// messages that can expire.
	if err := stopRetainedSweep(srv); err != nil {
		b.opts.Logger.Warn().Err(err).Msg("embedded broker: cannot stop mochi's retained-message sweep; it copies every retained message once a second")
	}
	for _, l := range lns {
		if err := srv.AddListener(l); err != nil {
			closeAll()
			return fmt.Errorf("broker: add listener: %w", err)
		}
	}
	if err := srv.Serve(); err != nil { // returns at once; serving runs in goroutines
		_ = CloseServer(srv)
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.srv = srv
	b.addr = ln.Addr().String()
	b.expiry.start()
	return nil
}

// mochiOptions are mochi's options for our use; sys.go explains the
// housekeeping ones.
func (b *Broker) mochiOptions() *mochi.Options {
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(b.opts.MaxPacketSize)
	caps.MaximumMessageExpiryInterval = 0 // retained state must not vanish after a day
	return &mochi.Options{
		Capabilities:           caps,
		SysTopicResendInterval: sysInterval,
		InlineClient:           false, // the bridge connects over loopback like any client
		Logger:                 slog.New(newLogHandler(b.opts.Logger, b.opts.Clock)),
	}
}

// listen binds addr, explaining the one failure users actually hit.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &addrInUseError{addr: addr, err: err}
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// authHook builds the authentication and ACL hook, refusing an open broker
// on a non-loopback address.
func (b *Broker) authHook() (*authHook, error) {
	h := &authHook{users: map[string][]byte{}, id: identity{bridge: b.opts.Bridge}, acl: b.opts.ACL,
		throttle: newLoginThrottle(b.opts.Clock), warn: newWarner(b.opts.Logger, b.opts.Clock)}
	for _, u := range b.opts.Users {
		if u.Username == "" || !strings.HasPrefix(u.PasswordHash, "$2") {
			return nil, fmt.Errorf("broker: user %q: password_hash must be a bcrypt hash (make one with 'tesla2mqtt hash-password')", u.Username)
		}
		h.users[u.Username] = []byte(u.PasswordHash)
	}
	if len(h.users) > 0 {
		return h, nil
	}
	for _, addr := range []string{b.opts.Addr, b.opts.TLSAddr} {
		if addr != "" && !IsLoopback(addr) {
			return nil, fmt.Errorf("broker: refusing to listen on %s: %w; anyone on the network could read the cars' data and send commands. "+
				"Add [[broker.users]] with a username and a password_hash from 'tesla2mqtt hash-password', or listen on 127.0.0.1", addr, ErrNoUsers)
		}
	}
	return h, nil
}

// IsLoopback reports whether a listen address (host:port) only accepts
// connections from this machine. An empty host means every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr returns the bound host:port (the real port when Options.Addr asked
// for port 0), or "" before Start.
func (b *Broker) Addr() string { return b.addr }

// TLSAddr returns the bound host:port of the TLS listener, or "" without one.
func (b *Broker) TLSAddr() string { return b.tlsAddr }

// Close disconnects all clients and stops listening. It is idempotent and a
// no-op before a successful Start.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		if b.srv != nil {
			err = CloseServer(b.srv)
			b.expiry.stop()
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
