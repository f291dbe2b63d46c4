package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Tests against real peers (Mosquitto, Node-RED, Chromium) run the built
// binary as a user would. They skip when the program is missing, except
// under CI=true, where .ci/run installs the programs and a skip would hide
// a broken install.

// needProgram returns the path of an external program or skips (fails in CI).
func peerNeedProgram(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found, and CI=true: .ci/run should have installed it", names[0])
	}
	t.Skipf("%s not installed; skipping (CI=true makes this a failure)", names[0])
	return ""
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// tesla2mqttBinary builds the command once per test process.
func peerBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tesla2mqtt-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tesla2mqtt")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = peerError("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type peerError string

func (e peerError) Error() string { return string(e) }

// proc is a started program whose output lines are scanned for patterns.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{}
	done  chan struct{}
}

// startProc starts a program; its stdout and stderr are collected and
// logged on failure. It is killed at the end of the test.
func peerStartProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), more: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
	}()
	go func() { _ = p.cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), strings.Join(p.output(), "\n"))
		}
	})
	return p
}

func (p *proc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine waits for an output line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		lines := p.output()
		for ; seen < len(lines); seen++ {
			if m := re.FindStringSubmatch(lines[seen]); m != nil {
				return m
			}
		}
		select {
		case <-p.more:
		case <-p.done:
			t.Fatalf("%s exited before printing %q", p.cmd.Path, re)
		case <-deadline:
			t.Fatalf("%s did not print %q within %s", p.cmd.Path, re, timeout)
		}
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func peerFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var (
	reStatusPage = regexp.MustCompile(`"addr":"(http://[^"]+/)".*status page`)
	reDemoBroker = regexp.MustCompile(`MQTT broker:\s+(\S+) \(`)
)

// demoRun is a running `tesla2mqtt demo`.
type demoRun struct {
	*proc
	StatusURL string // http://host:port/
	Broker    string // host:port of the broker it uses
}

// startDemo runs `tesla2mqtt demo` with its HTTP server on a free port and
// extra flags, and waits until it serves.
func peerStartDemo(t *testing.T, env []string, args ...string) *demoRun {
	t.Helper()
	bin := peerBinary(t)
	args = append([]string{"demo", "--http-addr", "127.0.0.1:0"}, args...)
	p := peerStartProc(t, env, bin, args...)
	d := &demoRun{proc: p}
	d.StatusURL = p.waitLine(t, reStatusPage, 30*time.Second)[1]
	d.Broker = p.waitLine(t, reDemoBroker, 30*time.Second)[1]
	return d
}

// checkLogHygiene fails on info-level log lines that dump payloads: one
// line per event, with no MQTT payload or state object in it.
func peerCheckLogs(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		if lvl, _ := m["level"].(string); lvl == "debug" || lvl == "trace" {
			continue
		}
		if _, ok := m["payload"]; ok || len(l) > 800 || strings.Contains(l, `\"battery_level\"`) {
			t.Errorf("log line dumps a payload at level %v: %.200s", m["level"], l)
		}
	}
}

// mqttWatch is a client on the broker that keeps the last message per topic.
type mqttWatch struct {
	c    *mqtt.Client
	mu   sync.Mutex
	last map[string][]byte
	all  []mqtt.Message
	more chan struct{}
}

func peerWatch(t *testing.T, url, user, pass string) *mqttWatch {
	t.Helper()
	w := &mqttWatch{last: map[string][]byte{}, more: make(chan struct{}, 1)}
	w.c = mqtt.New(mqtt.Options{URL: url, ClientID: "peer-test-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Username: user, Password: pass, Logger: zerolog.Nop()})
	if err := w.c.Subscribe("#", func(m mqtt.Message) {
		w.mu.Lock()
		w.last[m.Topic] = append([]byte(nil), m.Payload...)
		w.all = append(w.all, m)
		w.mu.Unlock()
		select {
		case w.more <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Connect(ctx); err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { _ = w.c.Close(context.Background()) })
	return w
}

// wait waits until a message on topic satisfies ok (payload as JSON object).
func (w *mqttWatch) wait(t *testing.T, topic string, timeout time.Duration, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		w.mu.Lock()
		msgs := append([]mqtt.Message(nil), w.all[seen:]...)
		seen = len(w.all)
		w.mu.Unlock()
		for _, m := range msgs {
			if m.Topic != topic {
				continue
			}
			v := map[string]any{}
			if json.Unmarshal(m.Payload, &v) == nil && ok(v) {
				return v
			}
		}
		select {
		case <-w.more:
		case <-deadline:
			w.mu.Lock()
			last := w.last[topic]
			w.mu.Unlock()
			t.Fatalf("%s: no matching message within %s; last: %s", topic, timeout, last)
		}
	}
}
