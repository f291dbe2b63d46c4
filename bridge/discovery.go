package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/discovery"
)

// publishDevice publishes everything about a new device, pipelined.
func (b *Bridge) publishDevice(d *device.Device) {
	o := b.newOutbox()
	b.queueDevice(o, d, true)
	o.flush()
}

// queueDevice adds a device's discovery, availability and state (always,
// with force) to o.
func (b *Bridge) queueDevice(o *outbox, d *device.Device, force bool) {
	b.queueDiscovery(o, d)
	b.queueAvailability(o, d)
	b.queueState(o, d, force)
}

// publishDiscovery publishes the device's Home Assistant discovery in the
// configured layout (nothing while the first reads run, see Offers.Hold).
func (b *Bridge) publishDiscovery(d *device.Device) {
	o := b.newOutbox()
	b.queueDiscovery(o, d)
	o.flush()
}

// queueDiscovery adds the device's discovery to o.
func (b *Bridge) queueDiscovery(o *outbox, d *device.Device) {
	if b.opts.Discovery {
		b.disc.Offer(o.add, b.subject(d))
	}
}

// publishBridgeDiscovery publishes the bridge device's discovery: its
// account entities (and, in device mode, the budget's too).
func (b *Bridge) publishBridgeDiscovery() {
	if b.opts.Discovery && b.answersUnknown() {
		o := b.newOutbox()
		b.disc.OfferBridge(o.add, b.opts.Budget != nil)
		o.flush()
	}
}

// subject is d as package discovery reads it: copied under b.mu, which
// guards it, so discovery never needs the core's lock.
func (b *Bridge) subject(d *device.Device) discovery.Subject {
	b.mu.Lock()
	defer b.mu.Unlock()
	return discovery.Subject{Name: d.Name(), UID: d.UID(), Device: d.HassDevice(), Topics: b.topics(d), Rows: d.All()}
}
