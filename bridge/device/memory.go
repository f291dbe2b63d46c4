package device

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// What a device knew survives a restart. A car that sleeps is never read
// (reading it would wake it or cost a 408), so without its last values a
// restart would publish it as unknown until it wakes, maybe for days. The
// host keeps the memories in its state directory; a new device recalls
// its own before its first publish.

// Memory is one device's last known state as the host stores it.
type Memory struct {
	// Kind is the device's kind; a memory of another kind is ignored.
	Kind string `json:"kind"`
	// UpdatedAt is the device's last successful read.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Data is the kind's own state (the car's vehicle_data blocks, each
	// with Tesla's own timestamp, and when it was last read).
	Data json.RawMessage `json:"data"`
}

// remembered is a kind whose values are kept across restarts.
type remembered interface {
	// memory encodes what to keep (under the lock).
	memory() (json.RawMessage, error)
	// recall takes a memory back before the first publish (under the lock).
	recall(raw json.RawMessage) error
}

// carMemory is what a car keeps: its blocks and pairing. Its Fleet state
// is not kept: the product list says what it is now.
type carMemory struct {
	DisplayName    string            `json:"display_name,omitempty"`
	CommandSigning string            `json:"command_signing,omitempty"`
	KeyPaired      *bool             `json:"key_paired,omitempty"`
	LastSeen       time.Time         `json:"last_seen,omitzero"`
	Data           fleet.VehicleData `json:"vehicle_data"`
}

func (c *car) memory() (json.RawMessage, error) {
	v := c.v
	return json.Marshal(carMemory{DisplayName: v.DisplayName, CommandSigning: v.CommandSigning, KeyPaired: v.KeyPaired,
		LastSeen: v.LastSeen, Data: v.Data})
}

func (c *car) recall(raw json.RawMessage) error {
	var m carMemory
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	v := c.v
	v.Merge(&m.Data)
	if v.CommandSigning == "" {
		v.CommandSigning = m.CommandSigning
	}
	if v.KeyPaired == nil {
		v.KeyPaired = m.KeyPaired
	}
	v.LastSeen = m.LastSeen
	return nil
}

// siteMemory is what a site keeps: its last live_status and site_info.
type siteMemory struct {
	Live *fleet.LiveStatus `json:"live_status,omitempty"`
	Info *fleet.SiteInfo   `json:"site_info,omitempty"`
}

func (s *site) memory() (json.RawMessage, error) {
	return json.Marshal(siteMemory{Live: s.v.Live, Info: s.v.Info})
}

func (s *site) recall(raw json.RawMessage) error {
	var m siteMemory
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	if s.v.Live == nil {
		s.v.Live = m.Live
	}
	if s.v.Info == nil {
		s.v.Info = m.Info
	}
	return nil
}

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
