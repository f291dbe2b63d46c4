package broker

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Regression (issue 19): a 64 MiB publish was accepted and RSS went from
// 35 to 660 MB. Now the connection ends at the packet's fixed header: the
// broker allocates nothing for the body, delivers nothing, and keeps
// serving everyone else.
func TestOversizePublishRefusedWithoutMemory(t *testing.T) {
	b := openBroker(t)
	if b.opts.MaxPacketSize != 256<<10 || b.opts.MaxRetainedSize != 64<<10 {
		t.Fatalf("defaults: max packet %d, max retained %d; want 256 KiB and 64 KiB", b.opts.MaxPacketSize, b.opts.MaxRetainedSize)
	}
	url := "tcp://" + b.Addr()
	sub, err := login(t, url, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 4)
	if tok := sub.Subscribe("other/#", 1, func(_ paho.Client, m paho.Message) { got <- len(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	c := dialRaw(t, b.Addr(), "big", 4)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// A PUBLISH whose fixed header announces 64 MiB, its body streamed from
	// a small buffer until the broker hangs up.
	const size = 64 << 20
	var hdr bytes.Buffer
	hdr.WriteByte(0x30 | 0x01) // PUBLISH, QoS 0, retain
	encodeLength(&hdr, size)
	chunk := make([]byte, 64<<10)
	written, werr := c.conn.Write(hdr.Bytes())
	for werr == nil && written < size {
		var n int
		n, werr = c.conn.Write(chunk)
		written += n
	}
	if _, err := c.tryRead(); err == nil {
		t.Fatal("the broker answered a 64 MiB publish instead of closing the connection")
	} else if !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("after a 64 MiB publish: %v, want the connection closed", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
		t.Fatalf("the broker allocated %d MiB for a refused 64 MiB publish (%d MiB sent before it hung up)", grown>>20, written>>20)
	}
	t.Logf("sent %d KiB before the broker hung up; process allocated %d KiB meanwhile", written>>10, (after.TotalAlloc-before.TotalAlloc)>>10)

	// Everyone else is still served.
	other, err := login(t, url, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	other.Publish("other/ok", 1, false, "x").WaitTimeout(5 * time.Second)
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("the subscriber got a %d-byte message; the big one must never arrive", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the broker stopped serving after the big publish")
	}
}

// A retained message above broker.max_retained_size is refused and not
// stored, whatever the client's protocol and QoS; one at the limit is
// kept; the bridge's own retained state is not bound by it.
func TestOversizeRetainedRefused(t *testing.T) {
	b := secureBroker(t, func(o *Options) { o.Users, o.MaxRetainedSize = nil, 1024 })
	url := "tcp://" + b.Addr()
	big, ok := strings.Repeat("x", 1025), strings.Repeat("y", 1024)

	// MQTT 3.1.1, QoS 1: no negative PUBACK exists, so the client is cut off.
	lost := make(chan struct{})
	c, err := login(t, url, "", "", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Publish("other/v3qos1", 1, true, big)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("an MQTT 3.1.1 client that published an oversized retained message at QoS 1 stayed connected")
	}
	// MQTT 3.1.1, QoS 0: dropped.
	raw := dialRaw(t, b.Addr(), "v3qos0", 4)
	raw.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: "other/v3qos0", Payload: []byte(big)})
	raw.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: "other/fits", Payload: []byte(ok)})
	raw.ping()
	// MQTT 5, QoS 1: a PUBACK that says no.
	v5 := dialRaw(t, b.Addr(), "v5", 5)
	v5.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true, Qos: 1}, PacketID: 7, TopicName: "other/v5", Payload: []byte(big)})
	if ack := v5.read(); ack.FixedHeader.Type != packets.Puback || ack.ReasonCode != packets.ErrQuotaExceeded.Code {
		t.Fatalf("MQTT 5 oversized retained publish: %s reason %#x, want PUBACK quota exceeded",
			packets.PacketNames[ack.FixedHeader.Type], ack.ReasonCode)
	}
	// The bridge's own state may be larger.
	bridge, err := login(t, url, bridgeUser, bridgePass, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok := bridge.Publish(testBase+"/car", 1, true, big); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("the bridge's large retained state: %v", tok.Error())
	}

	for topic, want := range map[string]bool{"other/v3qos1": false, "other/v3qos0": false, "other/v5": false, "other/fits": true, testBase + "/car": true} {
		if _, stored := b.srv.Topics.Retained.Get(topic); stored != want {
			t.Errorf("%s retained = %v, want %v", topic, stored, want)
		}
	}
}

// encodeLength writes MQTT's variable-length remaining length.
func encodeLength(buf *bytes.Buffer, n int) {
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		buf.WriteByte(b)
		if n == 0 {
			return
		}
	}
}

// isReset reports a connection the peer reset or closed under a write.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
