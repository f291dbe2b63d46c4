package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// A flood of refused publishes (each one a mochi warning that carries the
// whole packet) becomes one log line, which names the packet by kind,
// topic and size and never shows its payload.
func TestBrokerWarningsRateLimitedAndScrubbed(t *testing.T) {
	logs := &syncBuf{}
	b := secureBroker(t, func(o *Options) {
		o.Users, o.Logger, o.Clock = nil, zerolog.New(logs), clock.NewManual(time.Now())
	})
	const secret = "payload-Qx7-not-for-logs"
	for range 20 {
		c := dialRaw(t, b.Addr(), "flood", 4)
		c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1,
			TopicName: testBase + "/bridge/state", Payload: []byte(secret)})
		for {
			pk, err := c.tryRead()
			if err != nil {
				break // disconnected: mochi's answer to an MQTT 3.1.1 client
			}
			if pk.FixedHeader.Type == packets.Puback {
				t.Fatal("a publish on the bridge's state was acknowledged")
			}
		}
		_ = c.conn.Close()
	}
	logs.waitFor(t, "error processing packet")
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Fatalf("a payload reached the log:\n%s", out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "error processing packet") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "Publish packet on "+testBase+"/bridge/state, 24 payload bytes") {
		t.Fatalf("20 refused publishes logged %d lines, want 1 naming the packet:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}
