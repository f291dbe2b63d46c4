package mqtt

import (
	"context"
	"errors"
	"fmt"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// defaultPublishWindow bounds the QoS 1 publishes in flight without an
// acknowledgement. On loopback one round trip is what a publish costs, so
// a window of this size turns thousands of publishes from thousands of
// round trips into a few dozen, while a broker that stops answering holds
// at most this many messages of ours.
const defaultPublishWindow = 128

// Outgoing is one message for PublishMany.
type Outgoing struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// PublishAsync sends payload to topic with QoS 1 and returns at once; the
// returned channel receives exactly one value: nil when the broker
// acknowledged the message, else the error (not connected, invalid topic,
// no acknowledgement within 5 s, client closed). At most
// Options.PublishWindow publishes are in flight; when the window is full,
// PublishAsync blocks until an acknowledgement (or its timeout) frees a
// place.
//
// Order is kept: messages reach the broker in the order of the calls that
// sent them, whether by Publish or PublishAsync, so a later state of a topic
// never overtakes an earlier one. Callers that publish one topic from
// several goroutines must order those calls themselves.
func (c *Client) PublishAsync(topic string, payload []byte, retained bool) <-chan error {
	done := make(chan error, 1)
	if topic == "" || !validTopic(topic) {
		done <- fmt.Errorf("mqtt: publish %q: invalid topic", topic)
		return done
	}
	if !c.pc.IsConnectionOpen() {
		done <- fmt.Errorf("mqtt: publish %s: %w", topic, ErrNotConnected)
		return done
	}
	select {
	case c.window <- struct{}{}:
	case <-c.stop:
		done <- fmt.Errorf("mqtt: publish %s: %w", topic, ErrClosed)
		return done
	}
	tok := c.pc.Publish(topic, qos, retained, payload)
	// One goroutine per message in flight (at most the window): it waits
	// for the acknowledgement so that the caller does not have to.
	if !c.spawn(func() { c.settle(tok, topic, done) }) {
		<-c.window
		done <- fmt.Errorf("mqtt: publish %s: %w", topic, ErrClosed)
	}
	return done
}

// settle waits for one publish's acknowledgement (at most ackTimeout, and
// not past Close), frees its place in the window and reports the outcome.
func (c *Client) settle(tok paho.Token, topic string, done chan<- error) {
	t := c.opts.Clock.NewTimer(ackTimeout)
	defer t.Stop()
	var err error
	select {
	case <-tok.Done():
		if e := tok.Error(); e != nil {
			err = fmt.Errorf("mqtt: publish %s: %w", topic, e)
		}
	case <-t.C():
		err = fmt.Errorf("mqtt: publish %s: no acknowledgement within %s", topic, ackTimeout)
	case <-c.stop:
		err = fmt.Errorf("mqtt: publish %s: %w", topic, ErrClosed)
	}
	<-c.window
	done <- err
}

// PublishMany publishes msgs in order with up to Options.PublishWindow in
// flight, and returns once every one has been acknowledged or has failed:
// nil, or the failures joined (at most ten named, then a count). When ctx
// ends it stops sending and returns ctx's error; what it already sent still
// completes in the background. It is what start-up and a Home Assistant
// restart need: thousands of retained messages at the speed of the
// connection rather than one round trip each.
func (c *Client) PublishMany(ctx context.Context, msgs []Outgoing) error {
	pending := make([]<-chan error, 0, len(msgs))
	var ctxErr error
	for _, m := range msgs {
		if ctxErr = ctx.Err(); ctxErr != nil {
			break
		}
		pending = append(pending, c.PublishAsync(m.Topic, m.Payload, m.Retained))
	}
	var errs []error
	failed := 0
	for _, ch := range pending {
		if err := <-ch; err != nil {
			failed++
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		}
	}
	if failed > len(errs) {
		errs = append(errs, fmt.Errorf("mqtt: and %d more publishes failed", failed-len(errs)))
	}
	if ctxErr != nil {
		errs = append(errs, ctxErr)
	}
	return errors.Join(errs...)
}
