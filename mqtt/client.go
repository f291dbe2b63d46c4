package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

const (
	defaultConnectTimeout    = 10 * time.Second
	defaultReconnectInterval = 30 * time.Second
	maxReconnectInterval     = 30 * time.Second
	defaultQueueSize         = 1024

	// ackTimeout bounds the wait for a PUBACK, SUBACK or UNSUBACK. A broker
	// that answers nothing for this long is as good as gone; the caller gets
	// an error instead of a goroutine stuck forever.
	ackTimeout = 5 * time.Second
	// quiesceMillis lets in-flight work drain before DISCONNECT.
	quiesceMillis = 250
	// qos 1 everywhere: state is retained and idempotent, commands are
	// idempotent set-points, so at-least-once is right and qos 2 buys nothing.
	qos byte = 1
)

// ErrNotConnected is returned (wrapped) by Publish while the connection is down.
var ErrNotConnected = errors.New("not connected")

// Client is one MQTT connection shared by the whole daemon. It is safe for
// concurrent use. Create it with New, start it with Connect, end it with Close.
type Client struct {
	opts Options
	log  zerolog.Logger
	pc   paho.Client

	mu        sync.Mutex
	handlers  map[string]Handler // filter → handler; re-subscribed on every connect
	callbacks []func()           // OnConnect callbacks

	inbox     *inbox        // inbound messages, drained by dispatchLoop
	lostNext  time.Time     // dispatchLoop's: when lost messages may be logged again
	window    chan struct{} // one token per PublishAsync in flight (pipeline.go)
	connected chan struct{} // cap 1: "a (re)connect happened", coalesced
	ready     chan struct{} // closed after the first session setup
	readyOnce sync.Once
	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	// started and closed are guarded by mu, so that no goroutine is added
	// to wg once Close waits for it.
	started, closed bool
	wg              sync.WaitGroup // every goroutine the client starts

	connects atomic.Int64
	// setupErr is a TLS file problem found by New, returned by Connect.
	setupErr error
}

// ErrClosed is returned by Connect after Close, and (wrapped) for a
// PublishAsync that Close cut short.
var ErrClosed = errors.New("mqtt: the client is closed")

// New builds a Client from opts, filling in defaults. It neither touches
// the network nor starts a goroutine: Connect does both, Close ends them.
func New(opts Options) *Client {
	if opts.ClientID == "" {
		opts.ClientID = defaultClientID()
	}
	opts.Clock = clock.OrReal(opts.Clock)
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = defaultConnectTimeout
	}
	if opts.ReconnectInterval <= 0 {
		opts.ReconnectInterval = defaultReconnectInterval
	}
	opts.ReconnectInterval = min(opts.ReconnectInterval, maxReconnectInterval)
	if opts.QueueSize <= 0 {
		opts.QueueSize = defaultQueueSize
	}
	if opts.LaneSize <= 0 {
		opts.LaneSize = defaultLaneSize
	}
	if opts.PublishWindow <= 0 {
		opts.PublishWindow = defaultPublishWindow
	}
	c := &Client{
		opts:      opts,
		log:       opts.Logger,
		handlers:  map[string]Handler{},
		inbox:     newInbox(opts.LaneSize, opts.QueueSize, queueBytes),
		window:    make(chan struct{}, opts.PublishWindow),
		connected: make(chan struct{}, 1),
		ready:     make(chan struct{}),
		stop:      make(chan struct{}),
	}

	po := paho.NewClientOptions().
		AddBroker(opts.URL).
		SetClientID(opts.ClientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		// Clean session: a command that arrives while we are offline must
		// never be executed late (unlocking a door ten minutes after the user
		// gave up is worse than not doing it), so the broker must not queue
		// set messages for us. The price is that subscriptions are forgotten
		// on every reconnect, which is why sessionLoop re-makes them all.
		SetCleanSession(true).
		SetResumeSubs(false).
		SetStore(nopStore{}).
		// Order matters, but only for our own enqueue callback: it never
		// blocks (a full queue drops), so paho's goroutine is never stalled,
		// and keeping it in order preserves the arrival order that Handler
		// promises. With order=false paho spawns a goroutine per message and
		// two quick set messages could reach the handler swapped.
		SetOrderMatters(true).
		SetAutoReconnect(true).
		// No retry on the first connect, so Connect can report the error.
		SetConnectRetry(false).
		SetConnectTimeout(opts.ConnectTimeout).
		SetConnectRetryInterval(opts.ReconnectInterval).
		SetMaxReconnectInterval(opts.ReconnectInterval).
		SetDefaultPublishHandler(c.enqueue).
		SetOnConnectHandler(c.onPahoConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.log.Warn().Err(err).Str("url", opts.URL).Msg("mqtt connection lost; reconnecting")
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			c.log.Debug().Str("url", opts.URL).Msg("mqtt reconnecting")
		})
	if opts.WillTopic != "" {
		po.SetWill(opts.WillTopic, opts.WillPayload, qos, true)
	}
	if tc, err := tlsConfig(opts); err != nil {
		c.setupErr = err
	} else if tc != nil {
		po.SetTLSConfig(tc)
	}
	c.pc = paho.NewClient(po)
	return c
}

// spawn runs f on a goroutine that Close waits for; after Close it runs
// nothing and reports false.
func (c *Client) spawn(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.goLocked(f)
	return true
}

// start launches the dispatcher and the session loop, once.
func (c *Client) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if !c.started {
		c.started = true
		c.goLocked(c.dispatchLoop)
		c.goLocked(c.sessionLoop)
	}
	return nil
}

// goLocked runs f on a goroutine counted in wg. Callers hold c.mu and have
// checked that the client is not closed.
func (c *Client) goLocked(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// defaultClientID is "<program>-<8 hex digits>": recognisable in broker logs,
// and unique so two instances never kick each other off the broker.
func defaultClientID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return filepath.Base(os.Args[0]) + "-" + hex.EncodeToString(b)
}

// Connect makes the first connection, bounded by ctx and ConnectTimeout, and
// returns a descriptive error when it fails. After a success the client
// reconnects by itself for as long as it lives. Subscriptions registered
// before Connect are made before it returns.
func (c *Client) Connect(ctx context.Context) error {
	u, err := url.Parse(c.opts.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("mqtt: invalid broker URL %q: want scheme://host:port, e.g. tcp://127.0.0.1:1883", c.opts.URL)
	}
	if c.setupErr != nil {
		return c.setupErr
	}
	// The loops must run before paho connects: its connect handler signals
	// sessionLoop.
	if err := c.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.ConnectTimeout,
		fmt.Errorf("no answer within %s", c.opts.ConnectTimeout))
	defer cancel()

	tok := c.pc.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt: cannot connect to %s: %w", c.opts.URL, err)
		}
	case <-ctx.Done():
		// The attempt goes on inside paho until its own timeout; if it still
		// succeeds, undo it so we do not look online to the broker. Close
		// disconnects paho itself, which ends the attempt.
		c.spawn(func() {
			select {
			case <-tok.Done():
				if tok.Error() == nil {
					c.goOffline(context.Background())
					c.pc.Disconnect(0)
				}
			case <-c.stop:
			}
		})
		return fmt.Errorf("mqtt: cannot connect to %s: %w", c.opts.URL, context.Cause(ctx))
	}
	c.log.Info().Str("url", c.opts.URL).Str("client_id", c.opts.ClientID).Msg("mqtt connected")

	select {
	case <-c.ready:
	case <-ctx.Done():
		// Connected, but the broker is slow to acknowledge subscriptions;
		// sessionLoop keeps going, so this is not worth failing for.
		c.log.Warn().Msg("mqtt connected, subscriptions still pending")
	}
	return nil
}

// IsConnected reports whether the connection is up right now. Unlike paho's
// IsConnected it is false while reconnecting.
func (c *Client) IsConnected() bool { return c.pc.IsConnectionOpen() }

// Reconnects returns how many times the connection came back after the first
// connect; a health signal for diagnostics.
func (c *Client) Reconnects() int { return int(max(c.connects.Load()-1, 0)) }

// Close publishes WillPayload retained (a clean DISCONNECT suppresses the
// broker's last will, so we must say "offline" ourselves), disconnects with a
// short quiesce and stops the dispatcher. It waits for a running handler to
// return, bounded by ctx. Close is idempotent.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		err = c.goOffline(ctx)
		c.pc.Disconnect(quiesceMillis)
		close(c.stop)
		done := make(chan struct{})
		go func() { c.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("mqtt: close: a handler is still running: %w", ctx.Err()))
		}
		c.log.Info().Str("url", c.opts.URL).Msg("mqtt disconnected")
	})
	return err
}

// goOffline publishes WillPayload retained when there is a will and a connection.
func (c *Client) goOffline(ctx context.Context) error {
	if c.opts.WillTopic == "" || !c.pc.IsConnectionOpen() {
		return nil
	}
	tok := c.pc.Publish(c.opts.WillTopic, qos, true, []byte(c.opts.WillPayload))
	return c.waitToken(ctx, tok, "publish "+c.opts.WillTopic)
}

// waitToken waits for tok, at most ackTimeout and never past ctx.
func (c *Client) waitToken(ctx context.Context, tok paho.Token, what string) error {
	t := c.opts.Clock.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt: %s: %w", what, err)
		}
		return nil
	case <-t.C():
		return fmt.Errorf("mqtt: %s: no acknowledgement within %s", what, ackTimeout)
	case <-ctx.Done():
		return fmt.Errorf("mqtt: %s: %w", what, ctx.Err())
	}
}
