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
	defaultQueueSize         = 256

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

	queue     chan Message  // inbound messages, drained by dispatchLoop
	connected chan struct{} // cap 1: "a (re)connect happened", coalesced
	ready     chan struct{} // closed after the first session setup
	readyOnce sync.Once
	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // dispatchLoop and sessionLoop

	connects atomic.Int64
	// setupErr is a TLS file problem found by New, returned by Connect.
	setupErr error
}

// New builds a Client from opts, filling in defaults. It does not touch the
// network; call Connect. Close releases its goroutines.
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
	c := &Client{
		opts:      opts,
		log:       opts.Logger,
		handlers:  map[string]Handler{},
		queue:     make(chan Message, opts.QueueSize),
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

	c.wg.Add(2)
	go c.dispatchLoop()
	go c.sessionLoop()
	return c
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
		// succeeds, undo it so we do not look online to the broker.
		go func() {
			<-tok.Done()
			if tok.Error() == nil {
				c.goOffline(context.Background())
				c.pc.Disconnect(0)
			}
		}()
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

// Publish sends payload to topic with QoS 1 and waits for the broker's
// acknowledgement (at most 5 s). It fails at once while disconnected: the
// bridge publishes state, and stale state replayed after a reconnect is
// worse than the periodic full refresh that follows it.
func (c *Client) Publish(topic string, payload []byte, retained bool) error {
	if topic == "" || !validTopic(topic) {
		return fmt.Errorf("mqtt: publish %q: invalid topic", topic)
	}
	if !c.pc.IsConnectionOpen() {
		return fmt.Errorf("mqtt: publish %s: %w", topic, ErrNotConnected)
	}
	return c.waitToken(context.Background(), c.pc.Publish(topic, qos, retained, payload), "publish "+topic)
}

// Subscribe routes messages matching filter (MQTT wildcards + and # allowed)
// to h, replacing any handler for the same filter. The subscription is made
// now when connected, and again after every reconnect; while disconnected it
// is only remembered and Subscribe returns nil. A message is handed to every
// handler whose filter matches it; with overlapping filters a handler may see
// a retained message more than once, because the broker sends retained
// messages per subscription (QoS 1 is at-least-once anyway).
func (c *Client) Subscribe(filter string, h Handler) error {
	if !validFilter(filter) {
		return fmt.Errorf("mqtt: subscribe %q: invalid topic filter", filter)
	}
	if h == nil {
		return fmt.Errorf("mqtt: subscribe %s: nil handler", filter)
	}
	c.mu.Lock()
	c.handlers[filter] = h
	c.mu.Unlock()
	if !c.pc.IsConnectionOpen() {
		return nil
	}
	return c.subscribe(context.Background(), []string{filter})
}

// Unsubscribe forgets the handler for filter and, when connected, tells the
// broker. Messages already queued for filter are no longer delivered.
func (c *Client) Unsubscribe(filter string) error {
	c.mu.Lock()
	_, ok := c.handlers[filter]
	delete(c.handlers, filter)
	c.mu.Unlock()
	if !ok || !c.pc.IsConnectionOpen() {
		return nil
	}
	return c.waitToken(context.Background(), c.pc.Unsubscribe(filter), "unsubscribe "+filter)
}

// OnConnect registers f to run after every connect and reconnect, once all
// subscriptions are re-made and the online payload is published. Callbacks
// run one after another on the client's session goroutine, never on paho's,
// so they may Publish freely (for example discovery and full state).
func (c *Client) OnConnect(f func()) {
	c.mu.Lock()
	c.callbacks = append(c.callbacks, f)
	c.mu.Unlock()
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

// subscribe makes the subscriptions for filters and checks every return code:
// a broker may refuse one filter (0x80) while accepting the rest.
func (c *Client) subscribe(ctx context.Context, filters []string) error {
	m := make(map[string]byte, len(filters))
	for _, f := range filters {
		m[f] = qos
	}
	tok := c.pc.SubscribeMultiple(m, nil) // nil: every message goes to enqueue
	if err := c.waitToken(ctx, tok, fmt.Sprintf("subscribe %v", filters)); err != nil {
		return err
	}
	var errs []error
	for f, code := range tok.(*paho.SubscribeToken).Result() {
		if code == 0x80 {
			errs = append(errs, fmt.Errorf("mqtt: subscribe %s: refused by the broker", f))
		}
	}
	return errors.Join(errs...)
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
