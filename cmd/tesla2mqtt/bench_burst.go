package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The economy bench's command scenarios: what a set with three keys and a
// burst of eight commands cost, now that commands to one car share their
// confirming read (issue 15).

// burstRow is one scenario's cost, counted from the metered responses.
type burstRow struct {
	Name                      string
	Commands, Reads, Wakes, N int
	Billable                  int
}

// burstGate holds the car's command requests until released, so a burst's
// eight messages are all queued before the first command answers: the
// scenario measures coalescing, not the race between the sender and the
// bridge's worker.
type burstGate struct {
	mu   sync.Mutex
	held chan struct{}
}

func (g *burstGate) wait(req *http.Request) {
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held != nil && strings.Contains(req.URL.Path, "/command/") {
		<-held
	}
}

func (g *burstGate) hold() {
	g.mu.Lock()
	g.held = make(chan struct{})
	g.mu.Unlock()
}

func (g *burstGate) release() {
	g.mu.Lock()
	close(g.held)
	g.held = nil
	g.mu.Unlock()
}

// burstSets are the two scenarios: one JSON set with three keys, then eight
// set/<key> messages sent at once.
var (
	burstThreeKeys = `{"charge_limit": 85, "charge_current": 16, "sentry_mode": "ON"}`
	burstEight     = [][2]string{{"charge_limit", "80"}, {"charge_current", "12"}, {"sentry_mode", "OFF"},
		{"locked", "LOCK"}, {"flash_lights", "PRESS"}, {"charge_limit", "82"}, {"charge_current", "10"}, {"sentry_mode", "ON"}}
)

// runBursts runs the bridge under the default config at the reference
// day's start and sends both scenarios, each once the car is idle.
func runBursts(ctx context.Context) (_ []burstRow, err error) {
	e, err := newBenchEnv()
	if err != nil {
		return nil, err
	}
	gate := &burstGate{}
	e.gate = gate
	cfg := config.Default()
	run, err := e.startDefault(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := run.stop(); err == nil {
			err = rerr
		}
	}()
	pub := run.pub
	topic := cfg.MQTT.BaseTopic + "/" + benchVIN
	var rows []burstRow
	measure := func(name string, n int, send func()) error {
		before := e.count()
		send()
		for range n {
			if err := e.waitDone(); err != nil {
				return err
			}
		}
		rows = append(rows, e.since(before, name, n))
		e.clock.Advance(time.Minute) // past the per-car command rate limit
		return nil
	}
	if err := measure("set with 3 keys (one message)", 3, func() { pub.Send(topic+"/set", burstThreeKeys) }); err != nil {
		return nil, err
	}
	err = measure("burst of 8 commands (8 messages)", len(burstEight), func() {
		gate.hold()
		for _, c := range burstEight {
			pub.Send(topic+"/set/"+c[0], c[1])
		}
		gate.release()
	})
	return rows, err
}

// waitDone waits for one OnCommandDone, bounded in real time.
func (e *benchEnv) waitDone() error {
	t := e.wall.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-e.cmdDone:
		return nil
	case <-t.C():
		return fmt.Errorf("bench: a command got no result within a minute of real time")
	}
}

// count is how many responses were metered so far.
func (e *benchEnv) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.requests)
}

// since sums the car's responses metered after the first n.
func (e *benchEnv) since(n int, name string, cmds int) burstRow {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := burstRow{Name: name, N: cmds}
	for _, q := range e.requests[n:] {
		if q.Device != benchVIN {
			continue
		}
		switch q.Endpoint {
		case fleet.CallVehicleData:
			r.Reads++
		case fleet.CallWakeUp:
			r.Wakes++
		case fleet.CallCommand:
			r.Commands++
		}
		if q.Status < 500 && fleet.CategoryOf(q.Endpoint) != fleet.CategoryFree {
			r.Billable++
		}
	}
	return r
}

// writeBursts prints the scenarios' table.
func writeBursts(w io.Writer, rows []burstRow) {
	fmt.Fprintln(w, "\nCommand bursts (one car, default config): commands to one car share one confirming read.")
	fmt.Fprintln(w, "| Scenario | commands sent | command requests | vehicle_data reads | wakes | billable |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d |\n", r.Name, r.N, r.Commands, r.Reads, r.Wakes, r.Billable)
	}
}
