package bridge

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/coalesce"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/discovery"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/sharding"
	"github.com/tesla2mqtt/tesla2mqtt/internal/ratelog"
)

// Bridge joins the Fleet API and MQTT: its registry keeps the devices and
// reads them; the bridge publishes them, routes what arrives over MQTT, and
// runs it all.
type Bridge struct {
	opts Options
	pub  Publisher
	log  zerolog.Logger
	reg  *device.Registry
	exec *command.Executor
	// disc offers Home Assistant discovery and remembers it (own lock).
	disc *discovery.Offers
	// pauser is the EXCEEDED_LIMIT pause the registry keeps; the jobs and
	// bridge/info read it.
	pauser economy.Pauser
	// deadEnds is the account's dead end (412, 421, billing) and its
	// back-off; the registry reports to it, bridge/status shows it.
	deadEnds *economy.DeadEnds
	// calls and births hand work that arrives over MQTT to Run, which owns
	// the context it runs on; halted is closed when Run stops taking it.
	calls  chan call
	halted chan struct{}
	// births (cap 1) is a pending Home Assistant birth; republishes
	// coalesces full republishes (package coalesce).
	births      chan struct{}
	republishes *coalesce.Republisher

	// mu is the bridge's lock: the registry guards every device with it,
	// and it guards what follows.
	mu sync.Mutex
	// published is what was last published about each device, to publish
	// on change only and clear what is no longer offered.
	published   map[*device.Device]*published
	lastRefresh map[string]time.Time
	// pairing are the cars (as a request named them) whose Bluetooth
	// pairing waits for its key card (ble.go).
	pairing map[string]bool
	// ticks counts each stretchable job's turns; lastInfo is when the
	// budget's bridge/info was last published.
	ticks    map[string]int
	lastInfo time.Time
	// problemSeen: an account dead end happened, so bridge/status is
	// published even without an AccountStatus.
	problemSeen bool
	// acks are the acknowledgements of per-read publishes still to come
	// (outbox.go); they have a lock of their own.
	acks acks
	// savedMemory is the devices' memory as last read or written (memory.go).
	savedMemory []byte
	// retainedSeen holds the retained command messages already answered
	// (intake.go); rejects limits the warnings about rejected messages.
	retainedSeen map[[sha256.Size]byte]bool
	rejects      *ratelog.Limiter
	// clearing counts, per topic, the empty publishes of ours that the
	// broker will hand back.
	clearing map[string]int
}

// published is the bridge's memory of one device on MQTT.
type published struct {
	// state is the hash of the last state published, without updated_at
	// (valueSum); stateAt is when it was published; sent: it was.
	state   uint64
	stateAt time.Time
	sent    bool
	// gone: the device left the account; its availability is offline.
	gone bool
	// lastResult is the last command result, for the status page.
	lastResult *command.Result
}

// memo returns what was published about d, creating the record. Callers
// hold b.mu.
func (b *Bridge) memo(d *device.Device) *published {
	p := b.published[d]
	if p == nil {
		p = &published{}
		b.published[d] = p
	}
	return p
}

// now is the bridge clock's time.
func (b *Bridge) now() time.Time { return b.opts.Clock.Now() }

// wait waits d on the bridge's clock and reports false when ctx ended
// first. Unlike Clock.Sleep, a test clock does not move by itself here: a
// retry waits until the test advances time.
func (b *Bridge) wait(ctx context.Context, d time.Duration) bool {
	t := b.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// guard runs a job and turns a panic into a log line: one device's odd data
// must never take the bridge down.
func (b *Bridge) guard(name string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Str("job", name).Interface("panic", r).Msg("job panicked; recovered")
		}
	}()
	f()
}

// hand gives fn to Run without waiting for it to finish; false when Run
// is shutting down (or does first) and fn will not run. MQTT handlers use
// it so that a read never holds up the dispatcher.
func (b *Bridge) hand(fn func(ctx context.Context)) bool {
	select {
	case b.calls <- call{fn: fn, done: make(chan struct{})}:
		return true
	case <-b.halted:
		return false
	}
}

// call is work an MQTT handler hands to Run (within).
type call struct {
	fn   func(ctx context.Context)
	done chan struct{}
}

// within runs fn on Run's context and returns when it is done; false when
// Run is shutting down (or does first) and fn did not run. MQTT handlers
// and jobs registered outside Run have no context of their own: a get or
// refresh request reads the account on the bridge's, so that shutdown
// cancels the reads.
func (b *Bridge) within(fn func(ctx context.Context)) bool {
	c := call{fn: fn, done: make(chan struct{})}
	select {
	case b.calls <- c:
	case <-b.halted:
		return false
	}
	<-c.done
	return true
}

// publish sends one message and logs a failure; state is cached in the
// devices and republished on the next connect, so nothing is lost.
func (b *Bridge) publish(topic string, payload []byte, retained bool) {
	if err := b.pub.Publish(topic, payload, retained); err != nil {
		b.log.Debug().Err(err).Str("topic", topic).Msg("publish failed; will republish on reconnect")
	}
}

// clearRetained publishes an empty retained message on each topic but "":
// Home Assistant deletes what a cleared config described.
func (b *Bridge) clearRetained(topics ...string) {
	for _, t := range topics {
		if t != "" {
			b.publish(t, nil, true)
		}
	}
}

// asyncPublisher is the MQTT client's pipelined publish
// (mqtt.Client.PublishAsync), which keeps the order of the calls.
type asyncPublisher interface {
	PublishAsync(topic string, payload []byte, retained bool) <-chan error
}

// publishResultMsg sends one command result without waiting for the
// broker's acknowledgement when the publisher can: a flood of refused
// messages must be answered as fast as it arrives, and a result lost to a
// dropped connection is not worth a wait (it is not retained).
func (b *Bridge) publishResultMsg(topic string, payload []byte) {
	if ap, ok := b.pub.(asyncPublisher); ok {
		ap.PublishAsync(topic, payload, false) // its channel has room for the outcome
		return
	}
	b.publish(topic, payload, false)
}

// topics returns the MQTT topics of a device.
func (b *Bridge) topics(d *device.Device) entity.Topics {
	base := b.opts.BaseTopic + "/" + d.Name()
	return entity.Topics{
		State:        base,
		Availability: base + "/availability",
		Set:          base + "/set",
		Bridge:       b.bridgeTopic("state"),
	}
}

// granted returns the granted scopes as a set, or nil when unknown (all allowed).
func (b *Bridge) granted() map[string]bool {
	if b.opts.GrantedScopes == nil {
		return nil
	}
	set := map[string]bool{}
	for _, s := range b.opts.GrantedScopes() {
		set[s] = true
	}
	return set
}

// bridgeTopic is one of this instance's own bridge topics.
func (b *Bridge) bridgeTopic(name string) string {
	return sharding.BridgeTopics(b.opts.BaseTopic, b.opts.Shard) + "/" + name
}

// acks are the acknowledgements of the per-read state publishes, sent by
// publishLater from whichever worker read the device.
type acks struct {
	mu      sync.Mutex
	pending []pendingAck
}

// pendingAck is one message whose acknowledgement is still to come.
type pendingAck struct {
	topic string
	ack   <-chan error
}
