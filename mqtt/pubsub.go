package mqtt

import (
	"context"
	"errors"
	"fmt"

	paho "github.com/eclipse/paho.mqtt.golang"
)

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
