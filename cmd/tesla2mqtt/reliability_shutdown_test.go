package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// relStderr is the child's stderr: it keeps the text and signals each
// "command queued" line.
type relStderr struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	line   []byte
	queued chan struct{}
}

func (l *relStderr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.line = append(l.line, p...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(l.line[:i], []byte(`"message":"command queued"`)) {
			l.queued <- struct{}{}
		}
		l.line = l.line[i+1:]
	}
	return len(p), nil
}

func (l *relStderr) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// relSeq records the order in which messages arrive.
type relSeq struct {
	mu   sync.Mutex
	msgs []mqtt.Message
	ch   chan struct{}
}

func (s *relSeq) add(m mqtt.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, mqtt.Message{Topic: m.Topic, Payload: append([]byte(nil), m.Payload...), Retained: m.Retained})
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// waitFor waits until a message satisfies ok.
func (s *relSeq) waitFor(t *testing.T, what string, ok func(mqtt.Message) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if ok(m) {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		select {
		case <-s.ch:
		case <-deadline:
			t.Fatalf("never saw %s", what)
		}
	}
}

// SIGTERM to the real binary: it exits within 5 s, in STYLE.md's order
// (devices offline, then bridge/state offline), leaves offline retained on
// an external broker, and every command sent before the signal gets exactly
// one result (ok, or unknown when it was cut off).
func TestSIGTERMShutdown(t *testing.T) {
	bin := relBuild(t)
	b := relBroker(t, "127.0.0.1:0")
	url := "tcp://" + b.Addr()
	seq := &relSeq{ch: make(chan struct{}, 1)}
	c := mqtt.New(mqtt.Options{URL: url, ClientID: "rel-sigterm", Logger: zerolog.Nop()})
	for _, f := range []string{"tesla2mqtt/bridge/state", "tesla2mqtt/+/availability", "tesla2mqtt/+/result", "tesla2mqtt/" + model3} {
		if err := c.Subscribe(f, seq.add); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(t.Context()) })

	// Debug logs say when each command is queued: the signal comes once
	// all three are in the bridge, not after a guess at how long that takes.
	cfgPath := filepath.Join(t.TempDir(), "demo.toml")
	if err := os.WriteFile(cfgPath, []byte("[log]\nlevel = \"debug\"\nformat = \"json\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &relStderr{queued: make(chan struct{}, 16)}
	cmd := exec.Command(bin, "demo", "-c", cfgPath, "--mqtt-url", url, "--http-addr", "off")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	seq.waitFor(t, "the car online", func(m mqtt.Message) bool {
		return m.Topic == "tesla2mqtt/"+model3 && bytes.Contains(m.Payload, []byte(`"state":"online"`))
	})
	const commands = 3
	for i := range commands {
		payload, _ := json.Marshal(map[string]any{"charge_limit": 60 + i, "transaction": "t" + string(rune('0'+i))})
		if err := c.Publish("tesla2mqtt/"+model3+"/set", payload, false); err != nil {
			t.Fatal(err)
		}
	}
	for i := range commands {
		select {
		case <-stderr.queued:
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d commands reached the bridge\n%s", i, commands, stderr.String())
		}
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", stderr.String())
	}
	took := time.Since(start)
	t.Logf("SIGTERM → exit in %s", took.Round(time.Millisecond))

	seq.waitFor(t, "bridge/state offline", func(m mqtt.Message) bool {
		return m.Topic == "tesla2mqtt/bridge/state" && string(m.Payload) == "offline"
	})
	if got := retained(t, url, "tesla2mqtt/bridge/state"); got != "offline" {
		t.Errorf("retained bridge/state after exit = %q", got)
	}
	if got := retained(t, url, "tesla2mqtt/"+model3+"/availability"); got != "offline" {
		t.Errorf("retained availability after exit = %q", got)
	}
	seq.mu.Lock()
	defer seq.mu.Unlock()
	results := map[string]int{}
	lastAvail, bridgeOff := -1, -1
	for i, m := range seq.msgs {
		switch {
		case strings.HasSuffix(m.Topic, "/result"):
			var r struct{ Transaction, Status string }
			_ = json.Unmarshal(m.Payload, &r)
			if r.Status != "ok" && r.Status != "unknown" && r.Status != "error" {
				t.Errorf("result status %q", r.Status)
			}
			results[r.Transaction]++
		case strings.HasSuffix(m.Topic, "/availability") && string(m.Payload) == "offline":
			lastAvail = i
		case m.Topic == "tesla2mqtt/bridge/state" && string(m.Payload) == "offline" && bridgeOff < 0:
			bridgeOff = i
		}
	}
	for i := range commands {
		if n := results["t"+string(rune('0'+i))]; n != 1 {
			t.Errorf("command t%d got %d results, want exactly 1 (results: %v)", i, n, results)
		}
	}
	if lastAvail < 0 || bridgeOff < lastAvail {
		t.Errorf("order: devices offline at %d, bridge/state offline at %d; want devices first", lastAvail, bridgeOff)
	}
}

// retained reads the retained value of topic with a fresh client.
func retained(t *testing.T, url, topic string) string {
	t.Helper()
	w := newRelClient(t, url, "rel-retained-"+strings.ReplaceAll(topic, "/", "-"), topic)
	deadline := time.After(5 * time.Second)
	for {
		if p := w.get(topic); p != nil {
			return string(p)
		}
		select {
		case <-w.notify:
		case <-deadline:
			return ""
		}
	}
}
