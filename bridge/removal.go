package bridge

import (
	"encoding/json"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// goneAfter is how many product lists in a row must lack a device before it
// is removed: one odd answer (an empty list during a Tesla hiccup) must not
// wipe the user's Home Assistant entities.
const goneAfter = 2

// goneDevices counts the account's devices missing from products and
// returns those missing goneAfter times in a row, with the devices they own
// (a site's Wall Connectors); it forgets them at once so no new command or
// poll reaches them. Callers hold b.mu.
func (b *Bridge) goneDevices(products []fleet.Product) []*device {
	if b.missing == nil {
		b.missing = map[string]int{}
	}
	present := map[string]bool{}
	for _, p := range products {
		for _, f := range b.families {
			if uid, _ := f.adopt(p); uid != "" {
				present[uid] = true
				break
			}
		}
	}
	var gone []*device
	for uid, d := range b.byUID {
		if d.k.owner() != nil {
			continue // owned devices go with their owner
		}
		if present[uid] {
			delete(b.missing, uid)
			continue
		}
		b.missing[uid]++
		if b.missing[uid] >= goneAfter {
			gone = append(gone, d)
		}
	}
	for _, d := range b.byUID {
		for _, g := range gone {
			if d.k.owner() == g {
				gone = append(gone, d)
				break
			}
		}
	}
	for _, d := range gone {
		delete(b.missing, d.uid)
		delete(b.devices, d.name)
		delete(b.byUID, d.uid)
		delete(b.lastRefresh, d.name)
	}
	return gone
}

// removeDevices ends the commands of devices that left the account and
// clears what the bridge published for them: every discovery config (empty
// retained payload, which makes Home Assistant delete the entities), the
// retained state, and availability set to offline; then one
// device_removed event each.
func (b *Bridge) removeDevices(gone []*device) {
	for _, d := range gone {
		b.exec.Remove(target{b, d})
		b.mu.Lock()
		t := b.topics(d)
		topics := b.discoveryTopics(d, d.discovered)
		d.discovered = nil
		d.available = false
		b.mu.Unlock()
		b.log.Info().Str("device", d.name).Str("id", d.uid).Msg("device removed: no longer in the account")
		b.publish(t.Availability, []byte("offline"), true)
		for _, topic := range topics {
			b.publish(topic, nil, true)
		}
		b.publish(t.State, nil, true)
		b.publishDeviceEvent(EventDeviceRemoved, d)
	}
}

// publishDeviceEvent publishes a device event on <base>/bridge/event.
func (b *Bridge) publishDeviceEvent(typ string, d *device) {
	payload, err := json.Marshal(deviceEvent{Type: typ, Device: d.name, ID: d.uid, At: b.now().UTC().Format("2006-01-02T15:04:05Z")})
	if err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
}
