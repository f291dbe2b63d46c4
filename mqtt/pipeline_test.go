package mqtt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Pipelined messages all arrive, and each topic's messages arrive in the
// order they were sent, though none waited for the one before.
func TestPublishManyKeepsOrderPerTopic(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	sub := connected(t, b.URL(), func(o *mqtt.Options) { o.QueueSize, o.LaneSize = 4096, 4096 })
	const topics, perTopic = 5, 200
	var mu sync.Mutex
	got := map[string][]int{}
	all := make(chan struct{})
	count := 0
	if err := sub.Subscribe("pipe/#", func(m mqtt.Message) {
		n, _ := strconv.Atoi(string(m.Payload))
		mu.Lock()
		defer mu.Unlock()
		got[m.Topic] = append(got[m.Topic], n)
		if count++; count == topics*perTopic {
			close(all)
		}
	}); err != nil {
		t.Fatal(err)
	}
	pub := connected(t, b.URL(), func(o *mqtt.Options) { o.PublishWindow = 16 })
	var msgs []mqtt.Outgoing
	for i := range perTopic {
		for k := range topics {
			msgs = append(msgs, mqtt.Outgoing{Topic: fmt.Sprintf("pipe/%d", k), Payload: []byte(strconv.Itoa(i))})
		}
	}
	if err := pub.PublishMany(context.Background(), msgs); err != nil {
		t.Fatalf("PublishMany: %v", err)
	}
	select {
	case <-all:
	case <-time.After(waitFor):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("received %d of %d messages", count, topics*perTopic)
	}
	mu.Lock()
	defer mu.Unlock()
	for topic, seq := range got {
		for i, n := range seq {
			if n != i {
				t.Fatalf("%s: message %d carries %d; order lost: %v", topic, i, n, seq[:i+1])
			}
		}
	}
}

// An asynchronous publish says why it failed instead of failing silently.
func TestPublishAsyncReportsErrors(t *testing.T) {
	c := newClient(t, "tcp://127.0.0.1:1", nil)
	if err := <-c.PublishAsync("a/b", []byte("x"), true); !errors.Is(err, mqtt.ErrNotConnected) {
		t.Errorf("disconnected: err = %v, want ErrNotConnected", err)
	}
	if err := <-c.PublishAsync("a/+", []byte("x"), true); err == nil || !strings.Contains(err.Error(), "invalid topic") {
		t.Errorf("wildcard topic: err = %v, want invalid topic", err)
	}
	err := c.PublishMany(context.Background(), []mqtt.Outgoing{{Topic: "a/b"}, {Topic: "a/c"}})
	if !errors.Is(err, mqtt.ErrNotConnected) || !strings.Contains(err.Error(), "a/c") {
		t.Errorf("PublishMany while disconnected: err = %v, want both failures", err)
	}
}

// silentBroker accepts one MQTT connection, acknowledges the CONNECT and
// then reads and ignores everything: no publish is ever acknowledged.
func silentBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		// CONNECT: fixed header, remaining length (one byte for ours), body.
		head := make([]byte, 2)
		if _, err := io.ReadFull(conn, head); err != nil {
			return
		}
		if _, err := io.ReadFull(conn, make([]byte, head[1])); err != nil {
			return
		}
		if _, err := conn.Write([]byte{0x20, 0x02, 0x00, 0x00}); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, conn)
	})
	return "tcp://" + ln.Addr().String()
}

// With a broker that never acknowledges, no more than the window is ever
// in flight, and every message fails after the acknowledgement timeout
// instead of hanging.
func TestPublishWindowBoundsInFlight(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := connected(t, silentBroker(t), func(o *mqtt.Options) { o.PublishWindow = 2; o.Clock = clk; o.ClientID = "w" })
	done := make(chan error, 1)
	go func() {
		done <- c.PublishMany(context.Background(), []mqtt.Outgoing{{Topic: "w/1"}, {Topic: "w/2"}, {Topic: "w/3"}})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// Two acknowledgement timers: the window is full, the third waits.
	if err := clk.BlockUntil(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := clk.Pending(); n != 2 {
		t.Fatalf("%d publishes awaiting an acknowledgement, want the window's 2", n)
	}
	clk.Advance(5 * time.Second)
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	select {
	case err := <-done:
		for _, topic := range []string{"w/1", "w/2", "w/3"} {
			if err == nil || !strings.Contains(err.Error(), topic+": no acknowledgement") {
				t.Errorf("err = %v, want %s timed out", err, topic)
			}
		}
	case <-ctx.Done():
		t.Fatal("PublishMany did not return after the timeouts")
	}
}

// BenchmarkPublish compares one acknowledged publish at a time with the
// pipelined window, on loopback against an in-memory broker, directly and
// through a proxy that delays each direction by 1 ms (a broker on the LAN
// or a busy one).
func BenchmarkPublish(b *testing.B) {
	for _, rtt := range []time.Duration{0, 2 * time.Millisecond} {
		for _, mode := range []struct {
			name   string
			window int
		}{{"sequential", 0}, {"window=16", 16}, {"window=128", 128}} {
			b.Run(fmt.Sprintf("rtt=%s/%s", rtt, mode.name), func(b *testing.B) {
				url := startBroker(b, "127.0.0.1:0").URL()
				if rtt > 0 {
					url = latencyProxy(b, strings.TrimPrefix(url, "tcp://"), rtt/2)
				}
				c := mqtt.New(mqtt.Options{URL: url, PublishWindow: mode.window})
				if err := c.Connect(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer c.Close(context.Background())
				payload := []byte(strings.Repeat("x", 400))
				msgs := make([]mqtt.Outgoing, 0, 1000)
				for i := range 1000 {
					msgs = append(msgs, mqtt.Outgoing{Topic: fmt.Sprintf("bench/%d/config", i), Payload: payload, Retained: true})
				}
				n := 0
				for b.Loop() {
					if mode.window == 0 {
						for _, m := range msgs {
							if err := c.Publish(m.Topic, m.Payload, m.Retained); err != nil {
								b.Fatal(err)
							}
						}
					} else if err := c.PublishMany(context.Background(), msgs); err != nil {
						b.Fatal(err)
					}
					n += len(msgs)
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "publishes/s")
			})
		}
	}
}

// latencyProxy forwards one connection at a time to target, holding every
// chunk for oneWay in each direction without reordering: the network a
// publish crosses twice before its acknowledgement arrives.
func latencyProxy(b *testing.B, target string, oneWay time.Duration) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				return
			}
			wg.Go(func() { delayCopy(out, in, oneWay) })
			wg.Go(func() { delayCopy(in, out, oneWay) })
		}
	})
	return "tcp://" + ln.Addr().String()
}

// delayCopy copies src to dst, each chunk oneWay after it was read.
func delayCopy(dst, src net.Conn, oneWay time.Duration) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(oneWay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	defer dst.Close()
	for c := range q {
		if d := time.Until(c.at); d > 0 {
			t := time.NewTimer(d)
			<-t.C
		}
		if _, err := dst.Write(c.data); err != nil {
			_ = src.Close()
			for range q {
			}
			return
		}
	}
}
