package fleet

import (
	"context"
	"errors"
	"time"
)

// Run keeps the car's link for as long as ctx lives: while disconnected it
// scans and dials, waiting the back-off after each failure (so a car that
// left for the day costs one scan a minute, and is back within a minute of
// its return); while connected it scans every ScanInterval to refresh the
// RSSI. A link that breaks during a request wakes it at once. While Run
// runs, requests never dial themselves: they fail fast with
// ErrBLEOutOfRange and the caller takes the Fleet API. Run closes the link
// when ctx ends and returns nil; the session is over then, and nothing
// dials again.
func (c *BLECar) Run(ctx context.Context) error {
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running, c.ended = false, true
		c.mu.Unlock()
		c.Close()
	}()
	for {
		wait := c.round(ctx)
		t := c.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		case <-c.poke:
			t.Stop()
		}
	}
}

// round does one step of Run and returns how long to wait for the next.
func (c *BLECar) round(ctx context.Context) time.Duration {
	c.mu.Lock()
	connected, retryAt := c.veh != nil, c.retryAt
	c.mu.Unlock()
	if connected {
		c.refreshRSSI(ctx)
		return c.opts.ScanInterval
	}
	if c.opts.ScanOnly {
		c.watchBeacon(ctx)
		return c.opts.ScanInterval
	}
	if wait := retryAt.Sub(c.opts.Clock.Now()); wait > 0 {
		return wait
	}
	c.req.Lock()
	// A Connect may have opened the link while this round waited for the
	// lock: a second dial would leave the first link open and orphaned.
	c.mu.Lock()
	up := c.veh != nil
	c.mu.Unlock()
	var err error
	if !up {
		_, err = c.connectLocked(ctx)
	}
	c.req.Unlock()
	if err == nil {
		return c.opts.ScanInterval
	}
	c.mu.Lock()
	wait := c.retryAt.Sub(c.opts.Clock.Now())
	c.mu.Unlock()
	return max(wait, time.Millisecond)
}

// refreshRSSI scans for the beacon of a connected car. The link itself
// proves the car is near, so a scan that misses it changes nothing.
func (c *BLECar) refreshRSSI(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, c.opts.ScanTimeout)
	defer cancel()
	if found, rssi, err := c.opts.Radio.Scan(sctx, c.opts.VIN); err == nil && found {
		c.seen(rssi)
	}
}

// watchBeacon scans for the beacon of a car Run does not link to: in
// range with its RSSI, or out of range.
func (c *BLECar) watchBeacon(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, c.opts.ScanTimeout)
	defer cancel()
	found, rssi, err := c.opts.Radio.Scan(sctx, c.opts.VIN)
	switch {
	case ctx.Err() != nil:
	case err == nil && found:
		c.seen(rssi)
	default:
		if err == nil {
			err = ErrBLEOutOfRange
		}
		c.mu.Lock()
		changed := c.status.InRange || !errors.Is(c.status.LastError, err)
		c.status.InRange, c.status.LastError = false, err
		st := c.status
		c.mu.Unlock()
		if changed {
			c.notify(st)
		}
	}
}
