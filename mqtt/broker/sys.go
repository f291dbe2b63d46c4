package broker

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Housekeeping of mochi v2.7.9 and what we change (measured before: 83 %
// of the demo's idle CPU; ~30 % of a core and 1.5 GB of RSS at 1,000
// devices):
//
//   - Once a second its event loop calls clearExpiredRetainedMessages,
//     which copies the whole retained store (a map of 800-byte packets) to
//     look for expired messages. At 100,000 retained topics that is 80 MB
//     of garbage a second. No option turns it off or slows it, so
//     stopRetainedSweep stops that one ticker and expiryHook takes over,
//     looking only at the few messages that can expire.
//   - $SYS topics are republished every SysTopicResendInterval seconds
//     (default 1), each time with runtime.ReadMemStats, which stops the
//     world. A minute is plenty for a human watching $SYS.
//   - Capabilities.MaximumMessageExpiryInterval (default one day) deletes
//     every retained message older than a day; we set it to 0 (no
//     maximum), so retained state stays until it is replaced and only
//     messages that ask for an expiry (MQTT 5) expire.

// sysInterval is how often mochi republishes $SYS, in seconds.
const sysInterval = 60

// stopRetainedSweep stops mochi's once-a-second copy of the retained store.
// mochi keeps the ticker in an unexported field, so it is reached by
// reflection; an error means mochi's layout changed (TestRetainedSweepStopped
// fails then) and the broker runs with the sweep.
func stopRetainedSweep(srv *mochi.Server) error {
	loop := reflect.ValueOf(srv).Elem().FieldByName("loop")
	if loop.Kind() != reflect.Pointer || loop.IsNil() {
		return errors.New("mochi.Server has no loop field")
	}
	f := loop.Elem().FieldByName("retainedExpiry")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*time.Ticker]() {
		return errors.New("mochi's loop has no retainedExpiry ticker")
	}
	t := *(**time.Ticker)(unsafe.Pointer(f.UnsafeAddr()))
	if t == nil {
		return errors.New("mochi's retainedExpiry ticker is nil")
	}
	t.Stop()
	return nil
}

// expiryHook expires retained messages that carry an MQTT 5 message expiry
// interval, in place of mochi's sweep over all of them. It tracks only
// those messages, so an idle broker with any number of ordinary retained
// messages does no work.
type expiryHook struct {
	mochi.HookBase
	srv   *mochi.Server
	clock clock.Clock
	log   zerolog.Logger

	mu       sync.Mutex
	expiring map[string]int64 // topic → expiry (unix seconds, mochi's clock)

	cancel context.CancelFunc
	done   chan struct{}
}

func newExpiryHook(srv *mochi.Server, c clock.Clock, log zerolog.Logger) *expiryHook {
	return &expiryHook{srv: srv, clock: c, log: log, expiring: map[string]int64{}}
}

// ID names the hook in mochi's logs.
func (h *expiryHook) ID() string { return "tesla2mqtt-retained-expiry" }

// Provides declares the one event the hook handles.
func (h *expiryHook) Provides(b byte) bool { return b == mochi.OnRetainMessage }

// OnRetainMessage notes a retained message that can expire, and forgets a
// topic whose message was replaced by one that cannot or was cleared.
func (h *expiryHook) OnRetainMessage(_ *mochi.Client, pk packets.Packet, _ int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if pk.Expiry > 0 && len(pk.Payload) > 0 {
		h.expiring[pk.TopicName] = pk.Expiry
	} else if len(h.expiring) > 0 {
		delete(h.expiring, pk.TopicName)
	}
}

// start runs the sweep once a second until stop.
func (h *expiryHook) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		for {
			t := h.clock.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case now := <-t.C():
				h.sweepSafely(now.Unix())
			}
		}
	}()
}

// stop ends the sweep and waits for it; a no-op before start.
func (h *expiryHook) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
}

// sweepSafely sweeps; a panic is logged, not fatal (only main exits).
func (h *expiryHook) sweepSafely(now int64) {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error().Interface("panic", r).Msg("embedded broker: retained expiry panicked; recovered")
		}
	}()
	h.sweep(now)
}

// sweep deletes the tracked messages whose expiry has passed, if the
// stored message is still the one that was tracked.
func (h *expiryHook) sweep(now int64) {
	h.mu.Lock()
	var due []string
	for topic, exp := range h.expiring {
		if exp < now {
			due = append(due, topic)
			delete(h.expiring, topic)
		}
	}
	h.mu.Unlock()
	for _, topic := range due {
		if pk, ok := h.srv.Topics.Retained.Get(topic); ok && pk.Expiry > 0 && pk.Expiry < now {
			h.srv.Topics.RetainMessage(packets.Packet{TopicName: topic}) // an empty payload clears it
		}
	}
	if len(due) > 0 {
		atomic.StoreInt64(&h.srv.Info.Retained, int64(h.srv.Topics.Retained.Len()))
	}
}
