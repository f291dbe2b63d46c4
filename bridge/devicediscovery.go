package bridge

import (
	"encoding/json"
	"slices"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Home Assistant's device-based discovery (HA 2024.12+): one retained
// config per device, homeassistant/device/tesla2mqtt_<id>/config, with
// every entity in its cmps. The per-entity layout (one config per entity)
// stays for older Home Assistant releases (Options.DiscoveryMode).
//
// Moving between the two keeps every entity, its id and its history, by
// HA's migrate_discovery protocol (HA_DISCOVERY.md §3.3): each old topic
// first gets {"migrate_discovery": true}, then the new config goes out,
// then the old topics are cleared. Which devices were moved is kept in the
// devices' memory, so it happens once, not at every start.

// Discovery modes (Options.DiscoveryMode).
const (
	DiscoveryDevice = "device"
	DiscoveryEntity = "entity"
)

// bridgeDeviceID is the bridge device's object id in device mode.
const bridgeDeviceID = "tesla2mqtt_bridge"

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
// configured layout (nothing while the first reads run, see starting).
func (b *Bridge) publishDiscovery(d *device.Device) {
	o := b.newOutbox()
	b.queueDiscovery(o, d)
	o.flush()
}

// queueDiscovery adds the device's discovery to o.
func (b *Bridge) queueDiscovery(o *outbox, d *device.Device) {
	if !b.opts.Discovery || b.holdingDiscovery() {
		return
	}
	if b.deviceMode() {
		b.queueDeviceConfig(o, d)
		return
	}
	b.mu.Lock()
	back := b.leaveDeviceMode(deviceObjectID(d), d.UID())
	b.mu.Unlock()
	b.queueEntityConfigs(o, d, back)
}

// publishBridgeDiscovery publishes the bridge device's discovery: its
// account entities (and, in device mode, the budget's too).
func (b *Bridge) publishBridgeDiscovery() {
	if !b.opts.Discovery || !b.answersUnknown() {
		return
	}
	if b.deviceMode() {
		b.publishBridgeDeviceConfig()
		return
	}
	b.mu.Lock()
	back := b.leaveDeviceMode(bridgeDeviceID, bridgeDeviceID)
	b.mu.Unlock()
	if back != "" {
		b.publish(back, hass.MigratePayload, true)
		defer b.publish(back, nil, true)
	}
	for _, c := range b.bridgeDevice().AccountComponents(problemSensors) {
		topic, err := hass.ConfigTopic(b.opts.DiscoveryPrefix, c.Platform, c.UniqueID)
		if err != nil {
			continue
		}
		if payload, err := json.Marshal(c); err == nil {
			b.publish(topic, payload, true)
		}
	}
}

// deviceMode reports whether discovery is device-based.
func (b *Bridge) deviceMode() bool { return b.opts.DiscoveryMode == DiscoveryDevice }

// deviceTopic is a device's config topic in device mode.
func (b *Bridge) deviceTopic(objectID string) string {
	t, _ := hass.DeviceConfigTopic(b.opts.DiscoveryPrefix, objectID)
	return t
}

// deviceObjectID is the object id of a bridged device's config.
func deviceObjectID(d *device.Device) string { return "tesla2mqtt_" + d.UID() }

// queueDeviceConfig adds d's device config to o: every row it offers as
// a component, and a platform-only component for each row it offered
// before and no longer does, which HA removes. The first time, the
// device's per-entity configs are migrated into it.
func (b *Bridge) queueDeviceConfig(o *outbox, d *device.Device) {
	b.mu.Lock()
	disc := b.discovery(d)
	comps := map[string]json.RawMessage{}
	offered := []*entity.Spec{}
	for _, e := range d.All() {
		raw, err := hass.DeviceComponent(e.Component(disc))
		if err != nil {
			b.log.Error().Err(err).Str("key", e.Key).Msg("cannot encode discovery")
			continue
		}
		comps[e.Key] = raw
		offered = append(offered, e)
	}
	memo := b.memo(d)
	for _, e := range memo.discovered {
		if !slices.Contains(offered, e) {
			comps[e.Key] = hass.RemovedComponent(e.Platform)
		}
	}
	memo.discovered = offered
	var legacy []string
	if !b.migrated[d.UID()] {
		legacy = b.discoveryTopics(d, offered)
		b.migrated[d.UID()] = true
	}
	t := b.topics(d)
	hd := d.HassDevice()
	p := hass.DevicePayload{Device: &hd, Origin: &b.origin, Components: comps, AvailabilityMode: "all",
		Availability: []hass.Availability{{Topic: t.Bridge}, {Topic: t.Availability}}}
	b.mu.Unlock()
	b.queueMigrating(o, b.deviceTopic(deviceObjectID(d)), p, legacy)
}

// publishBridgeDeviceConfig publishes the bridge device's config: the
// account's entities and, with a budget, the spend sensors.
func (b *Bridge) publishBridgeDeviceConfig() {
	bd := b.bridgeDevice()
	cs := bd.AccountComponents(problemSensors)
	if b.opts.Budget != nil {
		cs = append(cs, bd.BudgetComponents()...)
	}
	comps := map[string]json.RawMessage{}
	var dev *hass.Device
	var legacy []string
	for _, c := range cs {
		dev = c.Device
		raw, err := hass.DeviceComponent(c)
		if err != nil {
			continue
		}
		comps[c.UniqueID] = raw
		if topic, err := hass.ConfigTopic(b.opts.DiscoveryPrefix, c.Platform, c.UniqueID); err == nil {
			legacy = append(legacy, topic)
		}
	}
	b.mu.Lock()
	if b.migrated[bridgeDeviceID] {
		legacy = nil
	}
	b.migrated[bridgeDeviceID] = true
	b.mu.Unlock()
	p := hass.DevicePayload{Device: dev, Origin: &b.origin, Components: comps,
		Availability: []hass.Availability{{Topic: b.bridgeTopic("state")}}}
	o := b.newOutbox()
	b.queueMigrating(o, b.deviceTopic(bridgeDeviceID), p, legacy)
	o.flush()
}

// queueMigrating adds a device config to o, migrating the per-entity
// configs at legacy into it (none: a plain publish).
func (b *Bridge) queueMigrating(o *outbox, topic string, p hass.DevicePayload, legacy []string) {
	payload, err := p.Encode()
	if err != nil {
		b.log.Error().Err(err).Str("topic", topic).Msg("cannot encode the device config")
		return
	}
	for _, l := range legacy {
		o.add(l, hass.MigratePayload, true)
	}
	o.add(topic, payload, true)
	for _, l := range legacy {
		o.add(l, nil, true)
	}
}

// leaveDeviceMode hands a device that was discovered device-based back to
// per-entity configs (a user on an older HA): its device config is told to
// migrate before the entity configs go out, and cleared after. It returns
// the device topic to clear, or "" when the device was never moved.
// Callers hold b.mu.
func (b *Bridge) leaveDeviceMode(objectID, uid string) string {
	if !b.migrated[uid] {
		return ""
	}
	delete(b.migrated, uid)
	return b.deviceTopic(objectID)
}
