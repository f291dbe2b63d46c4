package bridge

import (
	"fmt"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// topics returns the MQTT topics of a device.
func (b *Bridge) topics(d *device) Topics {
	base := b.opts.BaseTopic + "/" + d.name
	return Topics{
		State:        base,
		Availability: base + "/availability",
		Set:          base + "/set",
		Bridge:       b.opts.BaseTopic + "/bridge/state",
	}
}

// uniqueID is tesla2mqtt_<vin or site id>_<key>; it never changes with the
// device's configured name, so renaming a car keeps its HA history.
func uniqueID(d *device, key string) string {
	return "tesla2mqtt_" + d.uid + "_" + key
}

// component builds the discovery payload of one entity.
func (b *Bridge) component(d *device, e *binding) hass.Component {
	t := b.topics(d)
	uid := uniqueID(d, e.key)
	name := e.name
	if n, ok := b.opts.EntityNames[e.key]; ok && n != "" {
		name = n
	}
	c := hass.Component{
		Platform:        e.platform,
		Name:            hass.Ptr(name),
		UniqueID:        uid,
		DefaultEntityID: string(e.platform) + "." + strings.ToLower("tesla_"+sanitize(d.name)+"_"+e.key),
		ObjectID:        strings.ToLower("tesla_" + sanitize(d.name) + "_" + e.key),
		Device:          &d.hassDevice,
		Origin:          &b.origin,
		Availability: []hass.Availability{
			{Topic: t.Bridge},
			{Topic: t.Availability},
		},
		AvailabilityMode: "all",
		DeviceClass:      e.deviceClass,
		StateClass:       e.stateClass,
		EntityCategory:   e.category,
		Icon:             e.icon,
		DisplayPrecision: e.precision,
	}
	if e.disabled {
		c.EnabledByDefault = hass.Ptr(false)
	}
	unit := unitFor(e.quantity, b.opts.Units, e.unit)
	switch e.platform {
	case hass.Sensor:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		c.Unit = unit
		if e.deviceClass == hass.DCEnum {
			c.Options = e.options
		}
	case hass.BinarySensor:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		c.PayloadOn, c.PayloadOff = "True", "False"
	case hass.Switch:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		c.CommandTopic = t.SetTopic(e.key)
		c.PayloadOn, c.PayloadOff = "ON", "OFF"
		c.StateOn, c.StateOff = "True", "False"
	case hass.Number:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		c.CommandTopic = t.SetTopic(e.key)
		c.Unit = unit
		if e.number != nil {
			c.Min, c.Max, c.Step = hass.Ptr(e.number.Min), hass.Ptr(e.number.Max), hass.Ptr(e.number.Step)
			c.Mode = e.number.Mode
		}
	case hass.Select:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		c.CommandTopic = t.SetTopic(e.key)
		c.Options = e.options
	case hass.Button:
		c.CommandTopic = t.SetTopic(e.key)
		c.PayloadPress = "PRESS"
	case hass.Lock:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		c.CommandTopic = t.SetTopic(e.key)
		c.PayloadLock, c.PayloadUnlock = "LOCK", "UNLOCK"
		c.StateLocked, c.StateUnlocked = "True", "False"
	case hass.DeviceTracker:
		c.JSONAttrTopic = t.State
		c.JSONAttrTemplate = trackerTemplate
		c.SourceType = "gps"
	default:
		c.StateTopic = t.State
		c.ValueTemplate = valueTemplate(e.key)
		if e.writable {
			c.CommandTopic = t.SetTopic(e.key)
		}
	}
	if e.configure != nil {
		e.configure(&c, t)
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

// sanitize keeps only characters that are valid in HA object ids.
func sanitize(s string) string {
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

// discoveryTopic is <prefix>/<platform>/<unique_id>/config: object id = unique
// id and no node id, as HA's docs recommend.
func (b *Bridge) discoveryTopic(d *device, e *binding) (string, error) {
	t, err := hass.ConfigTopic(b.opts.DiscoveryPrefix, e.platform, uniqueID(d, e.key))
	if err != nil {
		return "", fmt.Errorf("discovery for %s: %w", d.name, err)
	}
	return t, nil
}
