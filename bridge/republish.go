package bridge

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// Publishing everything again: after a reconnect or Home Assistant's
// birth, on the full_republish schedule, and when the account's state or
// scopes change.

// republishAll runs after every MQTT (re)connect, on Home Assistant's
// birth and on a republish request: the broker may have lost retained
// messages, or another client may have overwritten them, so bridge/state,
// bridge info, discovery, availability and state are all published again.
// The bridge is online whenever it publishes, so it says so itself rather
// than trusting the connect's online message to still be there.
func (b *Bridge) republishAll() {
	b.publish(b.bridgeTopic("state"), []byte("online"), true)
	b.publishInfo()
	o := b.newOutbox()
	for _, d := range b.reg.Devices() {
		b.queueDevice(o, d, true)
	}
	o.flush()
}

// republishState republishes every state object, so a wiped broker recovers
// within one full_republish period.
func (b *Bridge) republishState() {
	o := b.newOutbox()
	for _, d := range b.reg.Devices() {
		b.queueAvailability(o, d)
		b.queueState(o, d, true)
	}
	o.flush()
}

// SetAccount attaches the account status after New (cmd creates the token
// source's callbacks before the bridge exists) and publishes it.
func (b *Bridge) SetAccount(a contract.AccountStatus) {
	b.mu.Lock()
	b.opts.Account = a
	b.mu.Unlock()
	b.publishInfo()
}

// PublishAccountEvent publishes ev on <base>/bridge/event, then the new
// account status and bridge/info. A scopes_changed event also re-offers the
// entities: those needing a withdrawn scope are removed from discovery and
// those a new scope allows are added.
func (b *Bridge) PublishAccountEvent(ev contract.AccountEvent) {
	if ev.At == "" {
		ev.At = b.now().UTC().Format(time.RFC3339)
	}
	payload, err := json.Marshal(ev)
	if err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
	if ev.Type == contract.EventScopesChanged {
		b.refilterEntities()
	}
	b.publishInfo()
}

// refilterEntities rebinds every device's rows through filter with the
// current scopes, the way they are bound when a device appears.
func (b *Bridge) refilterEntities() {
	for _, d := range b.reg.Devices() {
		b.mu.Lock()
		changed := b.reg.Rebind(d)
		b.mu.Unlock()
		if changed {
			b.publishDiscovery(d)
			b.publishState(d, true)
		}
	}
}

// birthLoop turns Home Assistant's birth messages into republishes, each
// after a short random delay so a restarting HA is ready and a fleet of
// bridges does not answer in the same instant. Births during the delay
// collapse into one more.
func (b *Bridge) birthLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.births:
		}
		delay := b.opts.BirthDelay
		if delay > 0 {
			delay += time.Duration(rand.Int64N(int64(delay)))
			if !b.wait(ctx, delay) {
				return
			}
		}
		b.republishes.Request(nil)
	}
}
