package bridge

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// DefaultHeartbeat is how long an unchanged state goes without a publish
// (Options.Heartbeat): updated_at in the retained message is at most this
// far behind the last read.
const DefaultHeartbeat = 5 * time.Minute

// stateMessage builds the device's state object and reports whether to
// publish it: a value changed (the read times aside), the heartbeat is due, or
// force (a reconnect, HA's birth, full_republish). Publishing on change
// spares the broker and every subscriber the reads that only moved
// updated_at (a fifth of them at steady state, and a Wall Connector's
// every minute); the heartbeat keeps updated_at and last_seen, the time
// of the last read, from looking older than Options.Heartbeat.
func (b *Bridge) stateMessage(d *device.Device, force bool) (topic string, payload []byte, ev contract.StateEvent, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	payload, err := d.StateJSON(b.opts.Units)
	if err != nil {
		b.log.Error().Err(err).Str("device", d.Name()).Msg("cannot encode state")
		return "", nil, ev, false
	}
	sum, now, memo := valueSum(payload), b.now(), b.memo(d)
	if !force && memo.sent && sum == memo.state && now.Sub(memo.stateAt) < b.opts.Heartbeat {
		return "", nil, ev, false
	}
	memo.state, memo.stateAt, memo.sent = sum, now, true
	if len(b.opts.Hooks) > 0 {
		ev = contract.StateEvent{Device: d.Name(), UID: d.UID(), Kind: d.Kind(), Force: force, LastError: d.LastError()}
		if v, ok := d.View().(*entity.VehicleView); ok {
			snap := *v
			ev.Vehicle = &snap
		}
	}
	return b.topics(d).State, payload, ev, true
}

// publishState publishes the device's state object if it is due
// (stateMessage) without waiting for the acknowledgement, then tells the
// hooks.
func (b *Bridge) publishState(d *device.Device, force bool) {
	topic, payload, ev, ok := b.stateMessage(d, force)
	if !ok {
		return
	}
	b.publishLater(topic, payload, true)
	b.tellState(ev)
}

// queueState adds the device's state object to o if it is due.
func (b *Bridge) queueState(o *outbox, d *device.Device, force bool) {
	topic, payload, ev, ok := b.stateMessage(d, force)
	if !ok {
		return
	}
	o.add(topic, payload, true)
	o.states = append(o.states, ev)
}

// readTimes are the state members that say when the device was read, not
// what it read: a state is compared without them (valueSum).
var readTimes = [][]byte{[]byte(`"last_seen":`), []byte(`"updated_at":`)}

// readTimes are in the order json.Marshal sorts map keys.
// valueSum is the FNV-64a hash of a state payload without its read times
// (updated_at, a car's last_seen): 8 bytes per device say whether a value
// changed. The state is a JSON object with unique keys whose read times
// are strings or null, and a quote inside a string is escaped, so
// `"updated_at":` after `{` or `,` can only be the member itself.
func valueSum(payload []byte) uint64 {
	h := fnv.New64a()
	rest := payload
	for _, key := range readTimes {
		i := bytes.Index(rest, key)
		if i <= 0 || (rest[i-1] != ',' && rest[i-1] != '{') {
			continue
		}
		end := i + len(key)
		switch {
		case end < len(rest) && rest[end] == '"':
			end += bytes.IndexByte(rest[end+1:], '"') + 2
		case bytes.HasPrefix(rest[end:], []byte("null")):
			end += len("null")
		default:
			continue
		}
		h.Write(rest[:i])
		rest = rest[end:]
	}
	h.Write(rest)
	return h.Sum64()
}

// publishAvailability publishes the device's availability topic.
func (b *Bridge) publishAvailability(d *device.Device) {
	o := b.newOutbox()
	b.queueAvailability(o, d)
	o.flush()
}

// queueAvailability adds the device's availability to o.
func (b *Bridge) queueAvailability(o *outbox, d *device.Device) {
	b.mu.Lock()
	topic := b.topics(d).Availability
	payload := "online"
	if b.memo(d).gone {
		payload = "offline"
	}
	b.mu.Unlock()
	o.add(topic, []byte(payload), true)
}

// setAllAvailability sets every device's availability, used on shutdown.
func (b *Bridge) setAllAvailability(payload string) {
	o := b.newOutbox()
	for _, d := range b.reg.Devices() {
		b.mu.Lock()
		topic := b.topics(d).Availability
		b.mu.Unlock()
		o.add(topic, []byte(payload), true)
	}
	o.flush()
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
func (b *Bridge) respond(action string, r contract.Response) {
	r.Shard = b.shardName()
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
