package broker

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// stopRetainedSweep reaches into mochi by reflection; this fails when a
// mochi upgrade moves the ticker, instead of the broker silently going
// back to copying its whole retained store every second.
func TestRetainedSweepStopped(t *testing.T) {
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := stopRetainedSweep(srv); err != nil {
		t.Fatalf("mochi %s: %v", mochi.Version, err)
	}
	logs := &syncBuf{}
	b := New(Options{Addr: "127.0.0.1:0", Logger: zerolog.New(logs)})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if strings.Contains(logs.String(), "sweep") {
		t.Fatalf("Start could not stop the sweep:\n%s", logs)
	}
	if b.srv.Options.SysTopicResendInterval != sysInterval || b.srv.Options.Capabilities.MaximumMessageExpiryInterval != 0 {
		t.Fatalf("$SYS every %d s, retained messages expire after %d s; want %d and never",
			b.srv.Options.SysTopicResendInterval, b.srv.Options.Capabilities.MaximumMessageExpiryInterval, sysInterval)
	}
}

// Without mochi's sweep, a retained message that asks for an expiry (MQTT
// 5) still expires, and ordinary retained state, however old, does not.
func TestRetainedExpiryStillHonoured(t *testing.T) {
	b := openBroker(t)
	c := dialRaw(t, b.Addr(), "v5", 5)
	expiring := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: "other/expiring", Payload: []byte("soon gone")}
	expiring.Properties.MessageExpiryInterval = 5
	c.send(&expiring)
	c.send(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: "other/state", Payload: []byte("stays")})
	c.ping()
	if pk, ok := b.srv.Topics.Retained.Get("other/expiring"); !ok || pk.Expiry == 0 {
		t.Fatalf("the expiring message was not retained with its expiry: %v %+v", ok, pk)
	}
	now := time.Now().Unix()
	b.expiry.sweep(now + 1) // before its time
	if _, ok := b.srv.Topics.Retained.Get("other/expiring"); !ok {
		t.Fatal("the message expired early")
	}
	b.expiry.sweep(now + 7)
	if _, ok := b.srv.Topics.Retained.Get("other/expiring"); ok {
		t.Fatal("the message outlived its expiry interval")
	}
	b.expiry.sweep(now + 400*24*3600)
	if pk, ok := b.srv.Topics.Retained.Get("other/state"); !ok || string(pk.Payload) != "stays" {
		t.Fatal("ordinary retained state expired")
	}
	// What a new subscriber would be sent (mochi's own lookup for it).
	var topics []string
	for _, pk := range b.srv.Topics.Messages("other/#") {
		topics = append(topics, pk.TopicName)
	}
	if strings.Join(topics, ",") != "other/state" {
		t.Fatalf("a new subscriber would get %v, want only other/state", topics)
	}
}
