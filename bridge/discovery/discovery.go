package discovery

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Home Assistant's device-based discovery (HA 2024.12+): one retained
// config per device, homeassistant/device/tesla2mqtt_<id>/config, with
// every entity in its cmps. The per-entity layout (one config per entity)
// stays for older Home Assistant releases (Settings.Mode).
//
// Moving between the two keeps every entity, its id and its history, by
// HA's migrate_discovery protocol (HA_DISCOVERY.md §3.3): each old topic
// first gets {"migrate_discovery": true}, then the new config goes out,
// then the old topics are cleared. Which devices were moved is kept in the
// devices' memory (Migrated, Restore), so it happens once, not at every
// start.

// The layouts Settings.Mode chooses from.
const (
	// Device is one config per device, for HA 2024.12 and later.
	Device = "device"
	// Entity is one config per entity, which older HA releases need.
	Entity = "entity"
)

// bridgeID is the bridge device's object id in device mode.
const bridgeID = "tesla2mqtt_bridge"

// Settings are the bridge's discovery options, fixed when it is built.
type Settings struct {
	// Prefix is the discovery prefix ("homeassistant"); Mode is Device or
	// Entity.
	Prefix, Mode string
	// Units and Names are the user's unit system and entity names, which
	// every row's config carries (entity.Discovery).
	Units string
	Names map[string]string
	// Version is the bridge's, named in every config's origin.
	Version string
	// Bridge is the bridge's own HA device; New sets its Origin.
	Bridge entity.BridgeDevice
	// Log is where a config that cannot be encoded is reported instead of
	// sent.
	Log zerolog.Logger
}

// Subject is one bridged device as discovery reads it: a copy the core
// takes under its own lock, so this package never touches what the
// registry guards.
type Subject struct {
	// Name is the device's topic segment; UID its VIN or site id.
	Name, UID string
	// Device is the HA device its configs name; Topics are where its
	// entities read and write.
	Device hass.Device
	Topics entity.Topics
	// Rows are the rows the device offers now.
	Rows []*entity.Spec
}

// Send hands one message to the core's outgoing batch; messages go out in
// call order, which the migration protocol depends on.
type Send func(topic string, payload []byte, retained bool)

// Offers is the discovery state: the rows each device was last offered
// with and the devices moved to device configs. Its lock is its own, so
// configs are built without holding the core's.
type Offers struct {
	set    Settings
	origin hass.Origin
	mu     sync.Mutex
	// holding holds the devices' discovery back (Hold).
	holding bool
	// offered are, by uid, the rows whose configs were published last.
	offered map[string][]*entity.Spec
	// migrated are the devices (uids, and the bridge device) whose
	// discovery is device-based on the broker.
	migrated map[string]bool
}

// New returns the discovery state of a bridge that has offered nothing
// yet; Restore adds the migrations an earlier run made.
func New(s Settings) *Offers {
	o := &Offers{set: s, offered: map[string][]*entity.Spec{}, migrated: map[string]bool{},
		origin: hass.Origin{Name: "tesla2mqtt", SWVersion: s.Version, SupportURL: "https://github.com/tesla2mqtt/tesla2mqtt"}}
	o.set.Bridge.Origin = &o.origin
	return o
}

// Hold holds the devices' discovery back (on) or lets it go: while the
// first reads run, so that a device's config goes out once, with its
// firmware, not once without and again with it.
func (o *Offers) Hold(on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.holding = on
}

// DeviceMode reports whether discovery is device-based.
func (o *Offers) DeviceMode() bool { return o.set.Mode == Device }

// Offer sends s's discovery in the configured layout, with removals for
// the rows it offered before and no longer does; nothing while held.
func (o *Offers) Offer(send Send, s Subject) {
	o.mu.Lock()
	holding := o.holding
	var back string
	if !holding && !o.DeviceMode() {
		back = o.leaveDeviceMode(objectID(s.UID), s.UID)
	}
	o.mu.Unlock()
	switch {
	case holding:
	case o.DeviceMode():
		o.offerDevice(send, s)
	default:
		o.offerEntities(send, s, back)
	}
}

// Drop forgets what s was offered and returns the per-entity config
// topics to clear: those of the rows last offered, or, with orAll and
// nothing remembered, of every row s offers now.
func (o *Offers) Drop(s Subject, orAll bool) []string {
	o.mu.Lock()
	rows := o.offered[s.UID]
	delete(o.offered, s.UID)
	o.mu.Unlock()
	if len(rows) == 0 && orAll {
		rows = s.Rows
	}
	return o.topics(o.discovery(s), rows)
}

// ConfigTopic is the device config of uid to clear in device mode ("" in
// entity mode): an empty one removes the device and all its entities.
func (o *Offers) ConfigTopic(uid string) string {
	if !o.DeviceMode() {
		return ""
	}
	return o.deviceTopic(objectID(uid))
}

// Migrated lists, sorted, the devices whose discovery was moved to device
// configs, for the devices' memory.
func (o *Offers) Migrated() []string {
	o.mu.Lock()
	moved := make([]string, 0, len(o.migrated))
	for id := range o.migrated {
		moved = append(moved, id)
	}
	o.mu.Unlock()
	slices.Sort(moved)
	return moved
}

// Restore marks ids, read from the devices' memory, as moved already.
func (o *Offers) Restore(ids []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		o.migrated[id] = true
	}
}

// discovery is what the device and the settings add to its rows'
// discovery payloads.
func (o *Offers) discovery(s Subject) entity.Discovery {
	return entity.Discovery{Prefix: o.set.Prefix, Name: s.Name, UID: s.UID, Topics: s.Topics,
		Device: &s.Device, Origin: &o.origin, Units: o.set.Units, Names: o.set.Names}
}

// topics are the config topics of rows.
func (o *Offers) topics(disc entity.Discovery, rows []*entity.Spec) []string {
	out := make([]string, 0, len(rows))
	for _, e := range rows {
		if topic, err := e.ConfigTopic(disc); err == nil {
			out = append(out, topic)
		}
	}
	return out
}

// offerEntities sends s's per-entity configs, and clears (empty retained
// payload) those it published before but no longer offers. back, when
// set, is the device config they migrate out of: it is told to migrate
// first and cleared last.
func (o *Offers) offerEntities(send Send, s Subject, back string) {
	if back != "" {
		send(back, hass.MigratePayload, true)
	}
	disc := o.discovery(s)
	offered := make([]*entity.Spec, 0, len(s.Rows))
	for _, e := range s.Rows {
		topic, err := e.ConfigTopic(disc)
		if err != nil {
			o.set.Log.Error().Err(err).Msg("skipping entity")
			continue
		}
		payload, err := json.Marshal(e.Component(disc))
		if err != nil {
			o.set.Log.Error().Err(err).Str("key", e.Key).Msg("cannot encode discovery")
			continue
		}
		offered = append(offered, e)
		send(topic, payload, true)
	}
	var gone []*entity.Spec
	o.mu.Lock()
	for _, e := range o.offered[s.UID] {
		if !slices.Contains(offered, e) {
			gone = append(gone, e)
		}
	}
	o.offered[s.UID] = offered
	o.mu.Unlock()
	for _, topic := range o.topics(disc, gone) {
		send(topic, nil, true)
	}
	if back != "" {
		send(back, nil, true)
	}
}

// offerDevice sends s's device config: every row it offers as a
// component, and a platform-only component for each row it offered
// before and no longer does, which HA removes. The first time, the
// device's per-entity configs are migrated into it.
func (o *Offers) offerDevice(send Send, s Subject) {
	disc := o.discovery(s)
	comps := map[string]json.RawMessage{}
	offered := []*entity.Spec{}
	for _, e := range s.Rows {
		raw, err := hass.DeviceComponent(e.Component(disc))
		if err != nil {
			o.set.Log.Error().Err(err).Str("key", e.Key).Msg("cannot encode discovery")
			continue
		}
		comps[e.Key] = raw
		offered = append(offered, e)
	}
	var legacy []string
	o.mu.Lock()
	for _, e := range o.offered[s.UID] {
		if !slices.Contains(offered, e) {
			comps[e.Key] = hass.RemovedComponent(e.Platform)
		}
	}
	o.offered[s.UID] = offered
	if !o.migrated[s.UID] {
		legacy = o.topics(disc, offered)
		o.migrated[s.UID] = true
	}
	o.mu.Unlock()
	p := hass.DevicePayload{Device: &s.Device, Origin: &o.origin, Components: comps, AvailabilityMode: "all",
		Availability: []hass.Availability{{Topic: s.Topics.Bridge}, {Topic: s.Topics.Availability}}}
	o.migrating(send, o.deviceTopic(objectID(s.UID)), p, legacy)
}

// migrating sends a device config, migrating the per-entity configs at
// legacy into it (none: a plain publish).
func (o *Offers) migrating(send Send, topic string, p hass.DevicePayload, legacy []string) {
	payload, err := p.Encode()
	if err != nil {
		o.set.Log.Error().Err(err).Str("topic", topic).Msg("cannot encode the device config")
		return
	}
	for _, l := range legacy {
		send(l, hass.MigratePayload, true)
	}
	send(topic, payload, true)
	for _, l := range legacy {
		send(l, nil, true)
	}
}

// leaveDeviceMode hands a device that was discovered device-based back to
// per-entity configs (a user on an older HA): its device config is told to
// migrate before the entity configs go out, and cleared after. It returns
// the device topic to clear, or "" when the device was never moved.
// Callers hold o.mu.
func (o *Offers) leaveDeviceMode(objectID, uid string) string {
	if !o.migrated[uid] {
		return ""
	}
	delete(o.migrated, uid)
	return o.deviceTopic(objectID)
}

// deviceTopic is a device's config topic in device mode.
func (o *Offers) deviceTopic(objectID string) string {
	t, _ := hass.DeviceConfigTopic(o.set.Prefix, objectID)
	return t
}

// objectID is the object id of a bridged device's config.
func objectID(uid string) string { return "tesla2mqtt_" + uid }
