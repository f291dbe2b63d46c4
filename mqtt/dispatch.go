package mqtt

import (
	"context"
	"runtime/debug"
	"slices"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// enqueue is paho's only message callback. It runs on paho's router goroutine
// and must never block there: a blocked router stops acknowledgements and, in
// the end, keep-alive pings, so the broker drops us. A full queue therefore
// drops the message with a warning; handlers that keep up never see that.
func (c *Client) enqueue(_ paho.Client, pm paho.Message) {
	m := Message{Topic: pm.Topic(), Payload: pm.Payload(), Retained: pm.Retained()}
	select {
	case c.queue <- m:
	default:
		c.log.Warn().Str("topic", m.Topic).Int("queue_size", cap(c.queue)).
			Msg("mqtt inbound queue full; message dropped")
	}
}

// dispatchLoop hands queued messages to the matching handlers, one message at
// a time in arrival order, until Close.
func (c *Client) dispatchLoop() {
	for {
		select {
		case <-c.stop:
			return
		case m := <-c.queue:
			for _, h := range c.matching(m.Topic) {
				c.safeCall("handler", m.Topic, func() { h(m) })
			}
		}
	}
}

// matching returns the handlers whose filter matches topic, ordered by filter
// so that overlapping filters run in a stable order.
func (c *Client) matching(topic string) []Handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	var filters []string
	for f := range c.handlers {
		if Match(f, topic) {
			filters = append(filters, f)
		}
	}
	slices.Sort(filters)
	hs := make([]Handler, len(filters))
	for i, f := range filters {
		hs[i] = c.handlers[f]
	}
	return hs
}

// safeCall runs f and turns a panic into an error log, so one bad message or
// callback cannot take the dispatcher, and with it every later message, down.
func (c *Client) safeCall(what, topic string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Str("topic", topic).Interface("panic", r).Bytes("stack", debug.Stack()).
				Msg("mqtt " + what + " panicked")
		}
	}()
	f()
}

// onPahoConnect runs on a paho goroutine after every successful connect. It
// only counts and signals: the real work happens in sessionLoop, because it
// waits for broker acknowledgements, which must not hold paho up.
func (c *Client) onPahoConnect(paho.Client) {
	if n := c.connects.Add(1); n > 1 {
		c.log.Info().Str("url", c.opts.URL).Int64("reconnects", n-1).Msg("mqtt reconnected")
	}
	select {
	case c.connected <- struct{}{}:
	default: // a setup is already pending; it will cover this connect too
	}
}

// sessionLoop sets the session up after each connect: every remembered
// subscription (a clean session forgets them), then the online payload, then
// the OnConnect callbacks. One goroutine does it so that two quick reconnects
// never run two setups at once.
func (c *Client) sessionLoop() {
	for {
		select {
		case <-c.stop:
			return
		case <-c.connected:
		}
		c.setupSession()
		c.readyOnce.Do(func() { close(c.ready) })

		c.mu.Lock()
		callbacks := slices.Clone(c.callbacks)
		c.mu.Unlock()
		for _, f := range callbacks {
			c.safeCall("on-connect callback", "", f)
		}
	}
}

// setupSession re-makes all subscriptions and publishes OnlinePayload. Errors
// are logged, not returned: the connection may drop again mid-setup, and the
// next connect repeats the whole setup anyway.
func (c *Client) setupSession() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	c.mu.Lock()
	filters := make([]string, 0, len(c.handlers))
	for f := range c.handlers {
		filters = append(filters, f)
	}
	c.mu.Unlock()
	if len(filters) > 0 {
		if err := c.subscribe(ctx, filters); err != nil {
			c.log.Warn().Err(err).Msg("mqtt re-subscribe failed")
		}
	}
	if c.opts.WillTopic != "" {
		tok := c.pc.Publish(c.opts.WillTopic, qos, true, []byte(c.opts.OnlinePayload))
		if err := c.waitToken(ctx, tok, "publish "+c.opts.WillTopic); err != nil {
			c.log.Warn().Err(err).Msg("mqtt online payload not published")
		}
	}
}
