package bridge

import (
	"encoding/json"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
)

// EventUnknownDevice is the bridge/event type of a set or get for a device
// name the bridge does not know.
const EventUnknownDevice = "unknown_device"

// unknownDeviceEvent is the payload of an unknown_device event.
type unknownDeviceEvent struct {
	Type    string   `json:"type"`
	Code    string   `json:"code"`
	Device  string   `json:"device"`
	Topic   string   `json:"topic"`
	Message string   `json:"message"`
	Known   []string `json:"known_devices"`
	At      string   `json:"at"`
}

// unknownDevice answers a set or get for a name no device has, where the
// sender will see it: an unknown_device result on <base>/<name>/result and
// a bridge/event that lists the known names.
func (b *Bridge) unknownDevice(name, topic string, payload []byte) {
	known := []string{}
	for _, d := range b.reg.Devices() {
		known = append(known, d.Name())
	}
	known = append(known, b.reg.Elsewhere()...) // other shards' devices
	r := command.UnknownDevice(name, known, payload)
	at := b.now().UTC().Format(time.RFC3339)
	r.At = at
	b.rejectAt(zerolog.WarnLevel, name, EventUnknownDevice).Str("topic", short(topic)).Msg("message for an unknown device")
	if p, err := json.Marshal(r); err == nil {
		b.publish(b.opts.BaseTopic+"/"+name+"/result", p, false)
	}
	ev := unknownDeviceEvent{Type: EventUnknownDevice, Code: command.CodeUnknownDevice, Device: name, Topic: topic,
		Message: r.Error.Message, Known: known, At: at}
	if p, err := json.Marshal(ev); err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", p, false)
	}
}
