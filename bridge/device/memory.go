package device

import (
	"encoding/json"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/memory"
)

// Memory is one device's last known state as the host stores it
// (package memory says why a device remembers).
type Memory = memory.Memory

// remembered is a kind whose values are kept across restarts.
type remembered interface {
	// memory encodes what to keep (under the lock).
	memory() (json.RawMessage, error)
	// recall takes a memory back before the first publish (under the lock).
	recall(raw json.RawMessage) error
}

func (c *car) memory() (json.RawMessage, error)  { return memory.Car(c.v) }
func (c *car) recall(raw json.RawMessage) error  { return memory.RecallCar(c.v, raw) }
func (s *site) memory() (json.RawMessage, error) { return memory.Site(s.v) }
func (s *site) recall(raw json.RawMessage) error { return memory.RecallSite(s.v, raw) }

// Memories returns every remembering device's memory, by uid.
func (r *Registry) Memories() map[string]Memory {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]Memory{}
	for uid, d := range r.byUID {
		rk, ok := d.k.(remembered)
		if !ok {
			continue
		}
		raw, err := rk.memory()
		if err != nil {
			r.log.Warn().Err(err).Str("device", d.name).Msg("cannot encode the device's memory")
			continue
		}
		out[uid] = Memory{Kind: d.Kind(), UpdatedAt: d.updatedAt, Data: raw}
	}
	return out
}

// recallLocked gives a new device its memory, if the host kept one.
// Callers hold r.mu.
func (r *Registry) recallLocked(d *Device) {
	if r.opts.Recall == nil {
		return
	}
	rk, ok := d.k.(remembered)
	if !ok {
		return
	}
	m, found := r.opts.Recall(d.uid)
	if !found || m.Kind != d.Kind() {
		return
	}
	if err := rk.recall(m.Data); err != nil {
		r.log.Warn().Err(err).Str("device", d.name).Msg("cannot read the device's memory; starting without it")
		return
	}
	d.updatedAt = m.UpdatedAt
}
