package mqtt

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// Another client overwrites the will topic with "offline" while the
// client is connected; PublishOnline puts "online" back, retained, so a
// late subscriber sees the truth. The bridge calls it on a republish
// request (issue 19).
func TestPublishOnlineRepairsTheWillTopic(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	_ = srv.AddHook(new(auth.AllowHook), nil)
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.CloseServer(srv) })
	url := "tcp://" + ln.Addr().String()
	connect := func(o Options) *Client {
		o.URL = url
		c := New(o)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	retained := func() string {
		got := make(chan string, 1)
		c := connect(Options{ClientID: "late-" + time.Now().Format("150405.000000000")})
		if err := c.Subscribe("app/state", func(m Message) {
			select {
			case got <- string(m.Payload):
			default:
			}
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("nothing retained on app/state")
			return ""
		}
	}

	c := connect(Options{ClientID: "app", WillTopic: "app/state", WillPayload: "offline", OnlinePayload: "online"})
	other := connect(Options{ClientID: "other"})
	if err := other.Publish("app/state", []byte("offline"), true); err != nil {
		t.Fatal(err)
	}
	if got := retained(); got != "offline" {
		t.Fatalf("after the overwrite app/state = %q", got)
	}
	if err := c.PublishOnline(); err != nil {
		t.Fatal(err)
	}
	if got := retained(); got != "online" {
		t.Fatalf("after PublishOnline app/state = %q, want online", got)
	}
	if err := connect(Options{ClientID: "no-will"}).PublishOnline(); err != nil {
		t.Fatalf("PublishOnline without a will: %v", err)
	}
}
