package entity

import (
	"fmt"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Discovery is what a device and the bridge's settings add to a row's Home
// Assistant discovery payload.
type Discovery struct {
	// Prefix is the discovery prefix ("homeassistant").
	Prefix string
	// Name is the device's topic segment; UID its VIN or site id.
	Name, UID string
	Topics    Topics
	Device    *hass.Device
	Origin    *hass.Origin
	// Units is the user's unit system.
	Units string
	// Names rename entities by key.
	Names map[string]string
}

// UniqueID is tesla2mqtt_<vin or site id>_<key>; it never changes with the
// device's configured name, so renaming a car keeps its HA history.
func UniqueID(uid, key string) string {
	return "tesla2mqtt_" + uid + "_" + key
}

// ConfigTopic is <prefix>/<platform>/<unique_id>/config: object id = unique
// id and no node id, as HA's docs recommend.
func (s *Spec) ConfigTopic(d Discovery) (string, error) {
	t, err := hass.ConfigTopic(d.Prefix, s.Platform, UniqueID(d.UID, s.Key))
	if err != nil {
		return "", fmt.Errorf("discovery for %s: %w", d.Name, err)
	}
	return t, nil
}

// Component builds the discovery payload of the row for one device.
func (s *Spec) Component(d Discovery) hass.Component {
	t := d.Topics
	name := s.Name
	if n, ok := d.Names[s.Key]; ok && n != "" {
		name = n
	}
	c := hass.Component{
		Platform:        s.Platform,
		Name:            hass.Ptr(name),
		UniqueID:        UniqueID(d.UID, s.Key),
		DefaultEntityID: string(s.Platform) + "." + strings.ToLower("tesla_"+Sanitize(d.Name)+"_"+s.Key),
		ObjectID:        strings.ToLower("tesla_" + Sanitize(d.Name) + "_" + s.Key),
		Device:          d.Device,
		Origin:          d.Origin,
		Availability: []hass.Availability{
			{Topic: t.Bridge},
			{Topic: t.Availability},
		},
		AvailabilityMode: "all",
		DeviceClass:      s.DeviceClass,
		StateClass:       s.StateClass,
		EntityCategory:   s.Category,
		Icon:             s.Icon,
		DisplayPrecision: s.Precision,
	}
	if s.Disabled {
		c.EnabledByDefault = hass.Ptr(false)
	}
	unit := UnitFor(s.Quantity, d.Units, s.Unit)
	// Every platform but a button (no state) and a tracker (attributes)
	// reads its value from the device's state object.
	if s.Platform != hass.Button && s.Platform != hass.DeviceTracker {
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(s.Key)
	}
	switch s.Platform {
	case hass.Sensor:
		c.Unit = unit
		if s.DeviceClass == hass.DCEnum {
			c.Options = s.Options
		}
	case hass.BinarySensor:
		c.PayloadOn, c.PayloadOff = "True", "False"
	case hass.Switch:
		c.CommandTopic = t.SetTopic(s.Key)
		c.PayloadOn, c.PayloadOff = "ON", "OFF"
		c.StateOn, c.StateOff = "True", "False"
	case hass.Number:
		c.CommandTopic = t.SetTopic(s.Key)
		c.Unit = unit
		if s.Number != nil {
			c.Min, c.Max, c.Step = hass.Ptr(s.Number.Min), hass.Ptr(s.Number.Max), hass.Ptr(s.Number.Step)
			c.Mode = s.Number.Mode
		}
	case hass.Select:
		c.CommandTopic = t.SetTopic(s.Key)
		c.Options = s.Options
	case hass.Button:
		c.CommandTopic = t.SetTopic(s.Key)
		c.PayloadPress = "PRESS"
	case hass.Lock:
		c.CommandTopic = t.SetTopic(s.Key)
		c.PayloadLock, c.PayloadUnlock = "LOCK", "UNLOCK"
		c.StateLocked, c.StateUnlocked = "True", "False"
	case hass.DeviceTracker:
		c.JSONAttrTopic = t.State
		c.JSONAttrTemplate = trackerTemplate
		c.SourceType = "gps"
	default:
		if s.Writable() {
			c.CommandTopic = t.SetTopic(s.Key)
		}
	}
	if s.Configure != nil {
		s.Configure(&c, t)
	}
	return c
}

// valueTemplate renders one key of the state object. JSON null renders as
// None, which HA treats as unknown on every platform we use; booleans render
// as True/False, which the binary_sensor, switch and lock payloads match.
func valueTemplate(key string) string {
	return "{{ value_json." + key + " }}"
}

// trackerTemplate hands HA numeric coordinates as attributes, or an empty
// object while the location is unknown (no scope, car never seen).
const trackerTemplate = "{% if value_json.latitude is number and value_json.longitude is number %}" +
	"{{ {'latitude': value_json.latitude, 'longitude': value_json.longitude, " +
	"'gps_accuracy': 10, 'heading': value_json.heading} | tojson }}{% else %}{}{% endif %}"

// Sanitize keeps only characters that are valid in HA object ids.
func Sanitize(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			sb.WriteRune(r)
		case r == '-' || r == ' ':
			sb.WriteRune('_')
		}
	}
	return sb.String()
}

// StateValue is the row's value for the state object in the user's unit
// system; ok is false for rows without a state (buttons).
func (s *Spec) StateValue(view any, units string) (v any, ok bool) {
	if s.Platform == hass.Button {
		return nil, false
	}
	v = s.Value(view)
	if f, isF := v.(float64); isF && s.Quantity != QNone {
		v = Convert(s.Quantity, units, f)
	}
	return v, true
}

// UnitIn is the unit the row announces in the user's unit system.
func (s *Spec) UnitIn(units string) string { return UnitFor(s.Quantity, units, s.Unit) }
