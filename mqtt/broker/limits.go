package broker

import (
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// limitsHook refuses retained messages larger than maxRetained from
// everyone but the bridge. Retained messages live in memory until someone
// clears them, so without a bound any client could make the broker hold
// gigabytes. Oversized packets never get this far: mochi drops the
// connection at the fixed header (Options.MaxPacketSize).
type limitsHook struct {
	mochi.HookBase
	id          identity
	maxRetained int
	warn        *warner
}

// ID names the hook in mochi's logs.
func (h *limitsHook) ID() string { return "tesla2mqtt-limits" }

// Provides declares the one event the hook handles.
func (h *limitsHook) Provides(b byte) bool { return b == mochi.OnPublish }

// OnPublish refuses an oversized retained message the way the client can
// tell: MQTT 5 gets a negative acknowledgement; MQTT 3.1.1 has none, so a
// QoS 1/2 publisher is disconnected, as mochi does for a publish the ACL
// forbids, and a QoS 0 one is dropped.
//
// A retained message that passes gets a topic of its own: mochi decodes
// the topic name without copying, as a string into the packet's read
// buffer, and its retained store keeps that string (map key, topic-tree
// path) beside its own copy of the payload, so each retained message kept
// the whole buffer it arrived in alive, payload included: twice the
// payload per topic (45 MiB of 1,000 cars' device configs).
func (h *limitsHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if !pk.FixedHeader.Retain {
		return pk, nil
	}
	if len(pk.Payload) <= h.maxRetained || h.id.isBridge(cl) {
		pk.TopicName = strings.Clone(pk.TopicName)
		return pk, nil
	}
	h.warn.event("retained-size:"+throttleKey(cl.Net.Remote)).Str("client_id", clip(cl.ID)).Str("addr", cl.Net.Remote).
		Str("topic", clip(pk.TopicName)).Int("bytes", len(pk.Payload)).Int("limit", h.maxRetained).
		Msg("embedded broker refused a retained message larger than broker.max_retained_size")
	switch {
	case pk.FixedHeader.Qos == 0:
		return pk, packets.ErrRejectPacket
	case cl.Properties.ProtocolVersion >= 5:
		return pk, packets.ErrQuotaExceeded
	default:
		cl.Stop(packets.ErrQuotaExceeded)
		return pk, packets.ErrRejectPacket
	}
}
