package broker

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// rawClient speaks MQTT byte by byte, for what a well-behaved client
// library refuses to send: a 64 MiB publish, MQTT 5 properties.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	v    byte // protocol version
}

// dialRaw connects and logs in anonymously with protocol version v (4 or 5).
func dialRaw(t *testing.T, addr, id string, v byte) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn), v: v}
	name := "MQTT"
	c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: v,
		Connect: packets.ConnectParams{ProtocolName: []byte(name), Clean: true, Keepalive: 30, ClientIdentifier: id}})
	if ack := c.read(); ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		t.Fatalf("connect %s: %+v", id, ack.FixedHeader)
	}
	return c
}

// send encodes and writes pk.
func (c *rawClient) send(pk *packets.Packet) {
	c.t.Helper()
	pk.ProtocolVersion = c.v
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read reads one packet, failing the test after 10 s without one.
func (c *rawClient) read() packets.Packet {
	c.t.Helper()
	pk, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return pk
}

// tryRead reads one packet or returns the connection's error.
func (c *rawClient) tryRead() (packets.Packet, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var pk packets.Packet
	hb, err := c.r.ReadByte()
	if err != nil {
		return pk, err
	}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		return pk, err
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return pk, err
	}
	pk.ProtocolVersion = c.v
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	return pk, err
}

// ping sends PINGREQ and waits for PINGRESP: the broker handles one
// client's packets in order, so everything sent before is processed.
func (c *rawClient) ping() {
	c.t.Helper()
	c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	for {
		if pk := c.read(); pk.FixedHeader.Type == packets.Pingresp {
			return
		}
	}
}
