package hass

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
)

// Device-based discovery (HA 2024.12+, HA_DISCOVERY.md §3.2): one retained
// config per device at <prefix>/device/<object_id>/config carries the
// device, the origin and every entity as a component, so a car is one
// message instead of ninety. The root is validated strictly by HA: only the
// keys below may appear.

// DevicePayload is the config of one device.
type DevicePayload struct {
	Device *Device `json:"device"`
	Origin *Origin `json:"origin"`
	// Availability and AvailabilityMode are shared by every component that
	// does not set its own.
	Availability     []Availability `json:"availability,omitempty"`
	AvailabilityMode string         `json:"availability_mode,omitempty"`
	// Components are the entities by component id ("cmps", the key's
	// abbreviation, which HA expands to "components").
	Components map[string]json.RawMessage `json:"cmps"`
}

// MigratePayload is what a per-entity config topic receives before the
// same entity moves into a device config (or back): HA then keeps the
// entity, its id and its history instead of making a new one.
var MigratePayload = []byte(`{"migrate_discovery":true}`)

// DeviceComponent encodes c as a component of a device config: its
// platform named, and without the device, origin and availability that
// the device config gives every component.
//
// It writes what json.Marshal of the component's members and platform as
// a map would, without encoding each member twice more: at 1,000 cars a
// Home Assistant restart rebuilds 90,000 components.
func DeviceComponent(c Component) (json.RawMessage, error) {
	c.Device, c.Origin, c.Availability, c.AvailabilityMode = nil, nil, nil, ""
	// MarshalJSON's output is json.Marshal's: compact and escaped already.
	raw, err := c.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["platform"], _ = json.Marshal(c.Platform)
	return object(m), nil
}

// object writes m as json.Marshal writes a map of compact, escaped raw
// values: keys sorted, values as they are.
func object(m map[string]json.RawMessage) []byte {
	if m == nil {
		return []byte("null")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		b.Write(m[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Encode is json.Marshal(p) without compacting every component again: the
// components are DeviceComponent's (or RemovedComponent's) output, compact
// and escaped already, and a car's are 40 KB.
func (p DevicePayload) Encode() ([]byte, error) {
	root := p
	root.Components = nil
	head, err := json.Marshal(struct {
		Device           *Device        `json:"device"`
		Origin           *Origin        `json:"origin"`
		Availability     []Availability `json:"availability,omitempty"`
		AvailabilityMode string         `json:"availability_mode,omitempty"`
	}{root.Device, root.Origin, root.Availability, root.AvailabilityMode})
	if err != nil {
		return nil, err
	}
	out := append(head[:len(head)-1:len(head)-1], `,"cmps":`...)
	out = append(out, object(p.Components)...)
	return append(out, '}'), nil
}

// RemovedComponent is the component config that removes an entity from a
// device config: only its platform (HA_DISCOVERY.md §3.2).
func RemovedComponent(p Platform) json.RawMessage {
	raw, _ := json.Marshal(map[string]Platform{"platform": p})
	return raw
}

// DeviceConfigTopic is <prefix>/device/<objectID>/config.
func DeviceConfigTopic(prefix, objectID string) (string, error) {
	return ConfigTopic(prefix, "device", objectID)
}
