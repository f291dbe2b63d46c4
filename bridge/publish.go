package bridge

import (
	"encoding/json"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// publish sends one message and logs a failure; state is cached in the
// devices and republished on the next connect, so nothing is lost.
func (b *Bridge) publish(topic string, payload []byte, retained bool) {
	if err := b.pub.Publish(topic, payload, retained); err != nil {
		b.log.Debug().Err(err).Str("topic", topic).Msg("publish failed; will republish on reconnect")
	}
}

// publishDevice publishes everything about a new device.
func (b *Bridge) publishDevice(d *device) {
	b.publishDiscovery(d)
	b.publishAvailability(d)
	b.publishState(d, true)
}

// publishState publishes the device's state object if it changed (or always
// when force is set, for republishing after a reconnect).
func (b *Bridge) publishState(d *device, force bool) {
	b.mu.Lock()
	payload, err := d.stateJSON(b.opts.Units)
	if err != nil {
		b.mu.Unlock()
		b.log.Error().Err(err).Str("device", d.name).Msg("cannot encode state")
		return
	}
	if !force && string(payload) == string(d.lastState) {
		b.mu.Unlock()
		return
	}
	d.lastState = payload
	topic := b.topics(d).State
	b.mu.Unlock()
	b.publish(topic, payload, true)
	b.PublishTeslaMate(d.name, force)
}

// publishAvailability publishes the device's availability topic.
func (b *Bridge) publishAvailability(d *device) {
	b.mu.Lock()
	topic := b.topics(d).Availability
	payload := "offline"
	if d.available {
		payload = "online"
	}
	b.mu.Unlock()
	b.publish(topic, []byte(payload), true)
}

// publishDiscovery publishes the device's HA discovery configs, and clears
// (empty retained payload) configs it published before but no longer offers.
func (b *Bridge) publishDiscovery(d *device) {
	if !b.opts.Discovery {
		return
	}
	type msg struct {
		topic   string
		payload []byte
	}
	var out []msg
	b.mu.Lock()
	seen := map[string]bool{}
	all := d.all()
	for i := range all {
		e := &all[i]
		topic, err := b.discoveryTopic(d, e)
		if err != nil {
			b.log.Error().Err(err).Msg("skipping entity")
			continue
		}
		payload, err := json.Marshal(b.component(d, e))
		if err != nil {
			b.log.Error().Err(err).Str("key", e.key).Msg("cannot encode discovery")
			continue
		}
		seen[topic] = true
		d.lastDiscovery[topic] = payload
		out = append(out, msg{topic, payload})
	}
	for topic := range d.lastDiscovery {
		if !seen[topic] {
			delete(d.lastDiscovery, topic)
			out = append(out, msg{topic, nil})
		}
	}
	b.mu.Unlock()
	for _, m := range out {
		b.publish(m.topic, m.payload, true)
	}
}

// republishAll runs after every MQTT (re)connect: the broker may have lost
// retained messages, so bridge info, discovery, availability and state are
// all published again.
func (b *Bridge) republishAll() {
	b.publishInfo()
	for _, d := range b.sortedDevices() {
		b.publishDiscovery(d)
		b.publishAvailability(d)
		b.publishState(d, true)
	}
}

// republishState republishes every state object, so a wiped broker recovers
// within one full_republish period.
func (b *Bridge) republishState() {
	for _, d := range b.sortedDevices() {
		b.publishAvailability(d)
		b.publishState(d, true)
	}
}

// setAllAvailability sets every device's availability, used on shutdown.
func (b *Bridge) setAllAvailability(payload string) {
	for _, d := range b.sortedDevices() {
		b.mu.Lock()
		topic := b.topics(d).Availability
		b.mu.Unlock()
		b.publish(topic, []byte(payload), true)
	}
}

// modelName turns car_type into the model HA shows.
func modelName(carType string) string {
	switch strings.ToLower(carType) {
	case "model3":
		return "Model 3"
	case "modely":
		return "Model Y"
	case "models", "models2":
		return "Model S"
	case "modelx":
		return "Model X"
	case "cybertruck":
		return "Cybertruck"
	case "":
		return "Tesla"
	}
	return carType
}

// modelFromVIN reads the model from the fourth character of a Tesla VIN, so
// a car that has been asleep since start still shows its model.
func modelFromVIN(vin string) string {
	if len(vin) == 17 {
		switch vin[3] {
		case '3':
			return "Model 3"
		case 'Y':
			return "Model Y"
		case 'S':
			return "Model S"
		case 'X':
			return "Model X"
		case 'C':
			return "Cybertruck"
		}
	}
	return "Tesla"
}

// vehicleHassDevice builds the HA device block of a car from what is known.
func vehicleHassDevice(d *device) hass.Device {
	v := d.vehicle
	name := v.DisplayName
	if name == "" {
		name = d.name
	}
	hd := hass.Device{
		Identifiers:  []string{"tesla2mqtt_" + d.uid},
		Name:         name,
		Manufacturer: "Tesla",
		Model:        modelName(""),
		SerialNumber: v.VIN,
	}
	if c := v.Data.Config; c != nil && c.CarType != nil {
		hd.Model = modelName(*c.CarType)
	} else {
		hd.Model = modelFromVIN(v.VIN)
	}
	if s := v.Data.Vehicle; s != nil && s.CarVersion != nil {
		hd.SWVersion = strings.Fields(*s.CarVersion + " ")[0]
	}
	return hd
}

// siteHassDevice builds the HA device block of an energy site.
func siteHassDevice(d *device, p fleet.Product) hass.Device {
	name := p.SiteName
	if name == "" {
		name = d.name
	}
	model := "Energy site"
	if c := p.Components; c != nil {
		switch {
		case c.Battery != nil && *c.Battery:
			model = "Powerwall"
		case c.Solar != nil && *c.Solar:
			model = "Solar"
		}
	}
	return hass.Device{
		Identifiers:  []string{"tesla2mqtt_" + d.uid},
		Name:         name,
		Manufacturer: "Tesla",
		Model:        model,
		SerialNumber: d.uid,
	}
}
