package hass

import "encoding/json"

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
func DeviceComponent(c Component) (json.RawMessage, error) {
	c.Device, c.Origin, c.Availability, c.AvailabilityMode = nil, nil, nil, ""
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["platform"], _ = json.Marshal(c.Platform)
	return json.Marshal(m)
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
