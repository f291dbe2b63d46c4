package fleet

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/teslamotors/vehicle-command/pkg/cache"
	"github.com/teslamotors/vehicle-command/pkg/connector"
	"github.com/teslamotors/vehicle-command/pkg/protocol"
	"github.com/teslamotors/vehicle-command/pkg/vehicle"
)

// BLELocalName is the local name the car advertises over BLE: "S", the
// first eight bytes of the VIN's SHA-1 in lower-case hex, "C"
// (vehicle-command's protocol.md, "BLE"). It is how a scan finds a car.
func BLELocalName(vin string) string {
	sum := sha1.Sum([]byte(vin))
	return fmt.Sprintf("S%02xC", sum[:8])
}

// BLECar is a BLEVehicle built on a BLERadio and the vehicle-command SDK.
type BLECar struct {
	opts BLEOptions
	key  protocol.ECDHPrivateKey // nil without a private key
	log  zerolog.Logger
	// sessions survive reconnects, so a returning car needs no new
	// handshake (the SDK's cache, in memory: BLE handshakes are free).
	sessions *cache.SessionCache

	req sync.Mutex // one exchange with the car at a time; held while connecting

	mu  sync.Mutex // guards the fields below
	veh *vehicle.Vehicle
	// linkDone ends when the link veh stands for ends (Close, a broken
	// link): a request in flight on it stops at once instead of waiting
	// for an answer that cannot come.
	linkDone context.Context
	endLink  context.CancelFunc
	status   BLEStatus
	failures int       // connects failed in a row
	retryAt  time.Time // no connect before this (back-off)
	running  bool      // Run owns connecting
	ended    bool      // Run has returned: the session is over, nothing dials again
	poke     chan struct{}
}

var _ BLEVehicle = (*BLECar)(nil)

// NewBLEVehicle returns the car's BLE session; it sends nothing until the
// first request, Connect or Run.
func NewBLEVehicle(opts BLEOptions) (*BLECar, error) {
	if opts.VIN == "" || opts.Radio == nil {
		return nil, errors.New("fleet: BLE needs a VIN and a radio")
	}
	opts.defaults()
	c := &BLECar{opts: opts, log: opts.Logger.With().Str("vin", opts.VIN).Logger(),
		sessions: cache.New(0), poke: make(chan struct{}, 1)}
	if opts.PrivateKey != nil {
		ek, err := opts.PrivateKey.ECDH()
		if err != nil {
			return nil, fmt.Errorf("BLE key: %w", err)
		}
		if c.key = protocol.UnmarshalECDHPrivateKey(ek.Bytes()); c.key == nil {
			return nil, errors.New("BLE key: not a P-256 private key")
		}
	}
	return c, nil
}

// VIN is the car.
func (c *BLECar) VIN() string { return c.opts.VIN }

// Status returns the link's current status.
func (c *BLECar) Status() BLEStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Connect opens the link now, whatever the back-off says.
func (c *BLECar) Connect(ctx context.Context) error {
	c.req.Lock()
	defer c.req.Unlock()
	c.mu.Lock()
	up, ended := c.veh != nil, c.ended
	c.mu.Unlock()
	switch {
	case up:
		return nil
	case ended:
		return ErrBLEOutOfRange
	}
	_, err := c.connectLocked(ctx)
	return err
}

// Close ends the link. A running Run dials again on its next round.
func (c *BLECar) Close() {
	c.mu.Lock()
	veh := c.veh
	c.endLinkLocked()
	changed := c.status.Connected
	c.status.Connected = false
	st := c.status
	c.mu.Unlock()
	if veh != nil {
		veh.Disconnect()
	}
	if changed {
		c.notify(st)
	}
}

// link returns the connected car. Without a link it dials now when no Run
// loop owns dialling (nor has ended: a request that comes in as the bridge
// shuts down must not open a link nobody closes) and the back-off allows;
// otherwise it fails at once with ErrBLEOutOfRange so the caller can take
// the Fleet API. Callers hold c.req.
func (c *BLECar) link(ctx context.Context) (*vehicle.Vehicle, context.Context, error) {
	c.mu.Lock()
	veh, done, running, retryAt, last := c.veh, c.linkDone, c.running || c.ended, c.retryAt, c.status.LastError
	c.mu.Unlock()
	if veh != nil {
		return veh, done, nil
	}
	if running || c.opts.Clock.Now().Before(retryAt) {
		if last != nil {
			return nil, nil, fmt.Errorf("%w (last attempt: %w)", ErrBLEOutOfRange, last)
		}
		return nil, nil, ErrBLEOutOfRange
	}
	if _, err := c.connectLocked(ctx); err != nil {
		return nil, nil, err
	}
	return c.link(ctx)
}

// endLinkLocked forgets the link and ends its requests in flight. Callers
// hold c.mu and disconnect the vehicle themselves.
func (c *BLECar) endLinkLocked() {
	c.veh = nil
	if c.endLink != nil {
		c.endLink()
		c.endLink = nil
	}
}

// connectLocked scans for the beacon and dials. A failure schedules the
// next attempt after a back-off that doubles up to BackoffMax, so a car
// that left for the day is looked for about once a minute. Callers hold c.req.
func (c *BLECar) connectLocked(ctx context.Context) (*vehicle.Vehicle, error) {
	sctx, cancel := context.WithTimeout(ctx, c.opts.ScanTimeout)
	found, rssi, err := c.opts.Radio.Scan(sctx, c.opts.VIN)
	cancel()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err == nil && !found {
		err = ErrBLEOutOfRange
	}
	if err != nil {
		return nil, c.connectFailed(err, false)
	}
	c.seen(rssi)
	dctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	conn, err := c.opts.Radio.Dial(dctx, c.opts.VIN)
	if err != nil {
		return nil, c.connectFailed(fmt.Errorf("%w (%w)", ErrBLEOutOfRange, err), true)
	}
	veh, err := vehicle.NewVehicle(&markedConn{Connector: conn}, c.key, c.sessions)
	if err == nil {
		err = veh.Connect(dctx)
	}
	if err != nil {
		conn.Close()
		return nil, c.connectFailed(fmt.Errorf("%w (%w)", ErrBLEOutOfRange, err), true)
	}
	c.mu.Lock()
	c.veh, c.failures, c.retryAt = veh, 0, time.Time{}
	c.linkDone, c.endLink = context.WithCancel(context.Background())
	c.status.Connected, c.status.InRange, c.status.LastError = true, true, nil
	st := c.status
	c.mu.Unlock()
	c.log.Info().Int("rssi", st.RSSI).Msg("bluetooth link up")
	c.notify(st)
	return veh, nil
}

// connectFailed records a failed attempt and returns err.
func (c *BLECar) connectFailed(err error, seen bool) error {
	now := c.opts.Clock.Now()
	c.mu.Lock()
	c.failures++
	wait := c.opts.BackoffMin << min(c.failures-1, 20)
	if wait > c.opts.BackoffMax || wait <= 0 {
		wait = c.opts.BackoffMax
	}
	c.retryAt = now.Add(wait)
	changed := c.status.InRange != seen || !errors.Is(c.status.LastError, err)
	c.status.InRange, c.status.LastError = seen, err
	st := c.status
	c.mu.Unlock()
	c.log.Debug().Err(err).Dur("retry_in", wait).Msg("bluetooth connect failed")
	if changed {
		c.notify(st)
	}
	return err
}

// seen records the beacon or an answer of the car.
func (c *BLECar) seen(rssi int) {
	c.mu.Lock()
	changed := !c.status.InRange || (rssi != 0 && rssi != c.status.RSSI)
	c.status.InRange, c.status.SeenAt = true, c.opts.Clock.Now()
	if rssi != 0 {
		c.status.RSSI = rssi
	}
	st := c.status
	c.mu.Unlock()
	if changed {
		c.notify(st)
	}
}

// drop ends a link that stopped working, if it is still the current one,
// and asks Run to dial again at once: a car that is still there is back
// before the next request, one that left costs one scan.
func (c *BLECar) drop(veh *vehicle.Vehicle, why error) {
	c.mu.Lock()
	if c.veh != veh {
		c.mu.Unlock()
		return
	}
	c.endLinkLocked()
	c.status.Connected, c.status.InRange, c.status.LastError = false, false, why
	st := c.status
	c.mu.Unlock()
	veh.Disconnect()
	c.log.Info().Err(why).Msg("bluetooth link lost")
	c.notify(st)
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

func (c *BLECar) notify(st BLEStatus) {
	if c.opts.OnStatus != nil {
		c.opts.OnStatus(st)
	}
}

// markedConn tells the SDK's transport errors apart from the car's
// answers: a failed Send means nothing left the adapter and the link is gone.
type markedConn struct{ connector.Connector }

func (m *markedConn) Send(ctx context.Context, buf []byte) error {
	if err := m.Connector.Send(ctx, buf); err != nil {
		return &bleSendError{err: err}
	}
	return nil
}
