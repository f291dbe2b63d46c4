package bridge

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// publishState publishes the device's state object if it changed (or always
// when force is set, for republishing after a reconnect), then tells the
// hooks.
func (b *Bridge) publishState(d *device.Device, force bool) {
	b.mu.Lock()
	payload, err := d.StateJSON(b.opts.Units)
	if err != nil {
		b.mu.Unlock()
		b.log.Error().Err(err).Str("device", d.Name()).Msg("cannot encode state")
		return
	}
	sum := sha256.Sum256(payload)
	memo := b.memo(d)
	if !force && sum == memo.state {
		b.mu.Unlock()
		return
	}
	memo.state = sum
	topic := b.topics(d).State
	var ev StateEvent
	if len(b.opts.Hooks) > 0 {
		ev = StateEvent{Device: d.Name(), UID: d.UID(), Kind: d.Kind(), Force: force, LastError: d.LastError()}
		if v, ok := d.View().(*entity.VehicleView); ok {
			snap := *v
			ev.Vehicle = &snap
		}
	}
	b.mu.Unlock()
	b.publish(topic, payload, true)
	for _, h := range b.opts.Hooks {
		h.OnState(ev)
	}
}

// publishAvailability publishes the device's availability topic.
func (b *Bridge) publishAvailability(d *device.Device) {
	b.mu.Lock()
	topic := b.topics(d).Availability
	payload := "online"
	if b.memo(d).gone {
		payload = "offline"
	}
	b.mu.Unlock()
	b.publish(topic, []byte(payload), true)
}

// discovery is what the device and the bridge's settings add to its rows'
// discovery payloads. Callers hold b.mu.
func (b *Bridge) discovery(d *device.Device) entity.Discovery {
	hd := d.HassDevice()
	return entity.Discovery{Prefix: b.opts.DiscoveryPrefix, Name: d.Name(), UID: d.UID(), Topics: b.topics(d),
		Device: &hd, Origin: &b.origin, Units: b.opts.Units, Names: b.opts.EntityNames}
}

// discoveryTopics are the config topics of rows of d. Callers hold b.mu.
func (b *Bridge) discoveryTopics(d *device.Device, rows []*entity.Spec) []string {
	disc := b.discovery(d)
	out := make([]string, 0, len(rows))
	for _, e := range rows {
		if topic, err := e.ConfigTopic(disc); err == nil {
			out = append(out, topic)
		}
	}
	return out
}

// publishEntityConfigs publishes the device's per-entity discovery
// configs, and clears (empty retained payload) configs it published before
// but no longer offers. back, when set, is the device config they migrate
// out of: it is told to migrate first and cleared last.
func (b *Bridge) publishEntityConfigs(d *device.Device, back string) {
	type msg struct {
		topic   string
		payload []byte
	}
	var out []msg
	if back != "" {
		out = append(out, msg{back, hass.MigratePayload})
	}
	b.mu.Lock()
	disc := b.discovery(d)
	all := d.All()
	offered := make([]*entity.Spec, 0, len(all))
	for _, e := range all {
		topic, err := e.ConfigTopic(disc)
		if err != nil {
			b.log.Error().Err(err).Msg("skipping entity")
			continue
		}
		payload, err := json.Marshal(e.Component(disc))
		if err != nil {
			b.log.Error().Err(err).Str("key", e.Key).Msg("cannot encode discovery")
			continue
		}
		offered = append(offered, e)
		out = append(out, msg{topic, payload})
	}
	memo := b.memo(d)
	var gone []*entity.Spec
	for _, e := range memo.discovered {
		if !slices.Contains(offered, e) {
			gone = append(gone, e)
		}
	}
	for _, topic := range b.discoveryTopics(d, gone) {
		out = append(out, msg{topic, nil})
	}
	memo.discovered = offered
	if back != "" {
		out = append(out, msg{back, nil})
	}
	b.mu.Unlock()
	for _, m := range out {
		b.publish(m.topic, m.payload, true)
	}
}

// setAllAvailability sets every device's availability, used on shutdown.
func (b *Bridge) setAllAvailability(payload string) {
	for _, d := range b.reg.Devices() {
		b.mu.Lock()
		topic := b.topics(d).Availability
		b.mu.Unlock()
		b.publish(topic, []byte(payload), true)
	}
}

// publishResult publishes one command result, remembers it for the
// last_command diagnostic and the status page, and tells the hooks.
func (b *Bridge) publishResult(d *device.Device, r command.Result) {
	r.At = b.now().UTC().Format(time.RFC3339)
	if r.Status == "" {
		r.Status = command.StatusError
	}
	payload, err := json.Marshal(r)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode result")
		return
	}
	b.mu.Lock()
	d.NoteResult(r)
	b.memo(d).lastResult = &r
	if dg := entity.DiagnosticsOf(d.View()); dg != nil {
		dg.LastCommand = r.Summary()
	}
	topic := b.topics(d).State + "/result"
	b.mu.Unlock()
	ev := b.log.Info().Str("device", d.Name())
	if r.Status != command.StatusOK {
		ev = b.reject(d.Name(), r.Code()) // a flood of refusals logs a count
	}
	ev.Str("key", short(r.Key)).Str("command", r.Command).Str("status", r.Status).Str("code", r.Code()).Msg("command result")
	b.publishResultMsg(topic, payload)
	for _, h := range b.opts.Hooks {
		h.OnResult(d.Name(), r)
	}
	b.publishState(d, false)
}

// respond publishes the response to a bridge request and tells the hooks.
func (b *Bridge) respond(action string, r Response) {
	payload, err := json.Marshal(r)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode response")
		return
	}
	b.publish(b.opts.BaseTopic+"/bridge/response/"+action, payload, false)
	for _, h := range b.opts.Hooks {
		h.OnRequest(action, r)
	}
}
