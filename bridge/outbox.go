package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// Pipelined publishing. Publish waits for each message's acknowledgement,
// one round trip per message: 92,000 of them at start-up and after Home
// Assistant's birth took tens of seconds at 1,000 cars. What the bridge
// sends in bulk (discovery, availability and state for every device) goes
// through an outbox instead, and a read's state through publishLater: both
// hand the message to the client's window (PublishAsync) at once and
// collect the acknowledgements later. Order is kept, since the client
// sends in call order; messages are built one device at a time and never
// under b.mu, because a full window waits for acknowledgements.

// reapAt is how many unacknowledged per-read publishes publishLater lets
// pile up before it looks which have been answered (and logs failures).
const reapAt = 256

// outbox sends a batch of messages through the client's window as they
// are added, and waits for their acknowledgements in flush. Each payload
// is built just before it is added, so a batch of every device's
// discovery never sits in memory whole.
type outbox struct {
	b       *Bridge
	pending []pendingAck
	// states are the state events to tell the hooks once sent.
	states []contract.StateEvent
}

// newOutbox returns an empty batch.
func (b *Bridge) newOutbox() *outbox { return &outbox{b: b} }

// add sends one message; it blocks only while the client's window is full.
func (o *outbox) add(topic string, payload []byte, retained bool) {
	o.pending = append(o.pending, pendingAck{topic, o.b.pub.PublishAsync(topic, payload, retained)})
}

// flush waits for every acknowledgement of the batch, logs the failures
// (state is cached and republished on reconnect, so nothing is lost), then
// tells the hooks about the states sent.
func (o *outbox) flush() {
	logFailures(o.b, waitAll(o.pending))
	o.pending = nil
	for _, ev := range o.states {
		o.b.tellState(ev)
	}
	o.states = nil
}

// waitAll waits for each acknowledgement and returns the failures.
func waitAll(ps []pendingAck) (failed []error) {
	for _, p := range ps {
		if err := <-p.ack; err != nil {
			failed = append(failed, err)
		}
	}
	return failed
}

// logFailures logs failed publishes, the first by name.
func logFailures(b *Bridge, failed []error) {
	if len(failed) > 0 {
		b.log.Debug().Err(failed[0]).Int("failed", len(failed)).Msg("publishes failed; will republish on reconnect")
	}
}

// publishLater sends one message without waiting for its acknowledgement;
// settleAcks (after each job and at shutdown) or a later reap collects it.
func (b *Bridge) publishLater(topic string, payload []byte, retained bool) {
	ack := b.pub.PublishAsync(topic, payload, retained)
	b.acks.mu.Lock()
	b.acks.pending = append(b.acks.pending, pendingAck{topic, ack})
	var failed []error
	if len(b.acks.pending) >= reapAt {
		failed = b.acks.reapLocked()
	}
	b.acks.mu.Unlock()
	logFailures(b, failed)
}

// reapLocked drops the publishes already answered and returns their
// failures. Callers hold a.mu.
func (a *acks) reapLocked() (failed []error) {
	keep := a.pending[:0]
	for _, p := range a.pending {
		select {
		case err := <-p.ack:
			if err != nil {
				failed = append(failed, err)
			}
		default:
			keep = append(keep, p)
		}
	}
	clear(a.pending[len(keep):])
	a.pending = keep
	return failed
}

// settleAcks waits for every per-read publish sent so far: a job returns
// when what it read has reached the broker.
func (b *Bridge) settleAcks() {
	b.acks.mu.Lock()
	ps := b.acks.pending
	b.acks.pending = nil
	b.acks.mu.Unlock()
	logFailures(b, waitAll(ps))
}

// tellState tells the hooks that a state was published.
func (b *Bridge) tellState(ev contract.StateEvent) {
	for _, h := range b.opts.Hooks {
		h.OnState(ev)
	}
}
