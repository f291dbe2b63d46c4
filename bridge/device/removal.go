package device

import (
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// goneAfter is how many product lists in a row must lack a device before it
// is removed: one odd answer (an empty list during a Tesla hiccup) must not
// wipe the user's Home Assistant entities.
const goneAfter = 2

// goneDevices counts the account's devices missing from products and
// returns those missing goneAfter times in a row, with the devices they own
// (a site's Wall Connectors); it forgets them at once so no new command or
// poll reaches them. Callers hold r.mu.
func (r *Registry) goneDevices(products []fleet.Product) []*Device {
	if r.missing == nil {
		r.missing = map[string]int{}
	}
	present := map[string]bool{}
	for _, p := range products {
		for _, f := range r.families {
			if uid, _ := f.adopt(p); uid != "" {
				present[uid] = true
				break
			}
		}
	}
	var gone []*Device
	for uid, d := range r.byUID {
		if d.k.owner() != nil {
			continue // owned devices go with their owner
		}
		if present[uid] {
			delete(r.missing, uid)
			continue
		}
		r.missing[uid]++
		if r.missing[uid] >= goneAfter {
			gone = append(gone, d)
		}
	}
	for _, d := range r.byUID {
		for _, g := range gone {
			if d.k.owner() == g {
				gone = append(gone, d)
				break
			}
		}
	}
	for _, d := range gone {
		delete(r.missing, d.uid)
		delete(r.devices, d.name)
		delete(r.byUID, d.uid)
	}
	return gone
}
