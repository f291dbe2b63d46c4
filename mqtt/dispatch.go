package mqtt

import (
	"context"
	"runtime/debug"
	"slices"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// enqueue is paho's only message callback. It runs on paho's router goroutine
// and must never block there: a blocked router stops acknowledgements and, in
// the end, keep-alive pings, so the broker drops us. It only files the
// message in its lane (inbox.go); a full lane keeps a drop notice instead.
func (c *Client) enqueue(_ paho.Client, pm paho.Message) {
	m := Message{Topic: pm.Topic(), Payload: pm.Payload(), Retained: pm.Retained()}
	key, ok := c.laneOf(m.Topic)
	if !ok {
		return // no handler wants it (unsubscribed since)
	}
	c.inbox.put(key, m)
}

// laneOf is the lane of topic, from the first (in sort order) filter that
// matches it; false when none does.
func (c *Client) laneOf(topic string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := ""
	for f := range c.handlers {
		if Match(f, topic) && (first == "" || f < first) {
			first = f
		}
	}
	if first == "" {
		return "", false
	}
	return laneKey(first, topic), true
}

// dispatchLoop hands queued messages and drop notices to the matching
// handlers, one at a time, the lanes taking turns, until Close.
func (c *Client) dispatchLoop() {
	for {
		select {
		case <-c.stop:
			return
		case <-c.inbox.signal:
		}
		for {
			m, ok := c.inbox.take()
			if !ok {
				break
			}
			for _, h := range c.matching(m.Topic) {
				c.safeCall("handler", m.Topic, func() { h(m) })
			}
			select {
			case <-c.stop:
				return
			default:
			}
		}
		c.logLost()
	}
}

// logLost says, at most once a minute, how many messages were dropped
// without even a notice (the notices' memory was spent).
func (c *Client) logLost() {
	now := c.opts.Clock.Now()
	if now.Before(c.lostNext) {
		return
	}
	if n := c.inbox.takeLost(); n > 0 {
		c.lostNext = now.Add(time.Minute)
		c.log.Warn().Int("messages", n).Msg("mqtt inbound queue full; messages dropped without a notice to their handler")
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
