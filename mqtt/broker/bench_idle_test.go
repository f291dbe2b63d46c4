package broker

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/rs/zerolog"
)

var benchRetained = flag.Int("retained", 100_000, "retained topics for BenchmarkIdleRetained")

// BenchmarkIdleRetained is what an idle embedded broker costs while it
// holds many retained messages (1,000 devices with their discovery
// configs are about 100,000): CPU time and bytes allocated per second of
// wall time, the heap in use, and the live heap per retained message. Each
// iteration is one second of doing nothing. "mochi-defaults" is the broker
// as it was configured before (mochi's defaults); "tesla2mqtt" is Start's.
//
//	go test ./mqtt/broker -run '^$' -bench IdleRetained -benchtime 5x [-args -retained 100000]
func BenchmarkIdleRetained(b *testing.B) {
	b.Run("mochi-defaults", func(b *testing.B) {
		benchIdle(b, func(b *testing.B) (string, func()) {
			srv := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
				b.Fatal(err)
			}
			if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
				b.Fatal(err)
			}
			if err := srv.Serve(); err != nil {
				b.Fatal(err)
			}
			return ln.Addr().String(), func() { _ = CloseServer(srv) }
		})
	})
	b.Run("tesla2mqtt", func(b *testing.B) {
		benchIdle(b, func(b *testing.B) (string, func()) {
			br := New(Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
			if err := br.Start(); err != nil {
				b.Fatal(err)
			}
			return br.Addr(), func() { _ = br.Close() }
		})
	})
}

func benchIdle(b *testing.B, start func(*testing.B) (string, func())) {
	n := *benchRetained
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	addr, stop := start(b)
	defer stop()
	fillRetained(b, addr, n)
	var filled runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&filled)

	var cpu time.Duration
	var allocated, heapInuse uint64
	b.ResetTimer()
	for range b.N {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := cpuTime()
		<-time.After(time.Second)
		cpu += cpuTime() - c0
		runtime.ReadMemStats(&m1)
		allocated += m1.TotalAlloc - m0.TotalAlloc
		heapInuse += m1.HeapInuse
	}
	b.StopTimer()
	secs := float64(b.N)
	b.ReportMetric(float64(cpu.Milliseconds())/secs, "cpu-ms/s")
	b.ReportMetric(float64(allocated)/secs/(1<<20), "alloc-MB/s")
	b.ReportMetric(float64(heapInuse)/secs/(1<<20), "heap-inuse-MB")
	b.ReportMetric(float64(filled.HeapAlloc-base.HeapAlloc)/float64(n), "live-B/retained")
}

// fillRetained publishes n retained messages the size of a discovery
// config (300 bytes) over one connection and returns once all are stored:
// the broker handles a connection's packets in order, so the acknowledged
// QoS 1 publish at the end comes after every QoS 0 one.
func fillRetained(b *testing.B, addr string, n int) {
	b.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("filler").SetWriteTimeout(time.Minute))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	payload := []byte(`{"name":"Battery","unique_id":"x","state_topic":"base/device","value_template":"{{ value_json.battery_level }}",` +
		`"device_class":"battery","unit_of_measurement":"%","state_class":"measurement","device":{"identifiers":["x"],"name":"car"}` +
		strings.Repeat(" ", 60) + "}")
	for i := range n {
		c.Publish(fmt.Sprintf("homeassistant/sensor/car%04d/key%03d/config", i/100, i%100), 0, true, payload)
	}
	if tok := c.Publish("bench/done", 1, true, "1"); !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
		b.Fatalf("fill: %v", tok.Error())
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
