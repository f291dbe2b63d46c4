package broker

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// syncBuf is a log sink the broker's goroutines may write to.
type syncBuf struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{} // closed and replaced on every write
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		close(s.wrote)
	}
	s.wrote = make(chan struct{})
	return s.buf.Write(p)
}

// waitFor waits until the log holds sub.
func (s *syncBuf) waitFor(t *testing.T, sub string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		if s.wrote == nil {
			s.wrote = make(chan struct{})
		}
		found, wrote := strings.Contains(s.buf.String(), sub), s.wrote
		s.mu.Unlock()
		if found {
			return
		}
		select {
		case <-wrote:
		case <-deadline:
			t.Fatalf("the log never showed %q:\n%s", sub, s.String())
		}
	}
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Failed logins are throttled per address: after five, even the right
// password waits until the bucket leaks; the bridge is never locked out by
// a guesser on the same host; the refusals are logged with user and
// address, never the password, and a flood of them is a few lines.
func TestFailedLoginsThrottledPerAddress(t *testing.T) {
	clk := clock.NewManual(time.Now())
	logs := &syncBuf{}
	b := secureBroker(t, func(o *Options) { o.Clock = clk; o.Logger = zerolog.New(logs) })
	url := "tcp://" + b.Addr()
	// One attempt per login: without an explicit version paho retries a
	// refused MQTT 3.1.1 login as 3.1.
	v4 := func(o *paho.ClientOptions) { o.SetProtocolVersion(4) }
	const guess = "guess-Zq81x"
	for i := range throttleBurst {
		_, err := login(t, url, "ha", guess, v4)
		if err == nil || !strings.Contains(err.Error(), "not Authorized") {
			t.Fatalf("wrong password %d: %v, want not authorized", i+1, err)
		}
	}
	_, err := login(t, url, "ha", "ha-pass", v4)
	if err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("right password after %d failures: %v, want refused as server unavailable (throttled)", throttleBurst, err)
	}
	if _, err := login(t, url, bridgeUser, bridgePass, v4); err != nil {
		t.Fatalf("the bridge was locked out by another client's guesses: %v", err)
	}
	for range 50 {
		if _, err := login(t, url, "ha", guess, v4); err == nil {
			t.Fatal("a guess got through while throttled")
		}
	}

	clk.Advance(throttleLeak)
	if _, err := login(t, url, "ha", "ha-pass", v4); err != nil {
		t.Fatalf("right password once the throttle leaked: %v", err)
	}

	out := logs.String()
	if strings.Contains(out, guess) || strings.Contains(out, "ha-pass") || strings.Contains(out, bridgePass) {
		t.Fatalf("a password reached the log:\n%s", out)
	}
	var refusals []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "refused a login") {
			refusals = append(refusals, l)
		}
	}
	// 56 refusals within one minute from one address: one line.
	if len(refusals) != 1 || !strings.Contains(refusals[0], `"user":"ha"`) || !strings.Contains(refusals[0], `"addr":"127.0.0.1:`) {
		t.Fatalf("refusal lines = %d, want 1 with user and address:\n%s", len(refusals), out)
	}
	t.Logf("the refusal as logged: %s", refusals[0])
	if strings.Count(out, "\n") > 10 {
		t.Errorf("56 refused logins wrote %d log lines:\n%s", strings.Count(out, "\n"), out)
	}
}

func TestThrottleKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5555":             "127.0.0.1",
		"[2001:db8:1:2:3::4]:1883":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::]:1883": "2001:db8:1:2::/64",
		"pipe":                       "pipe",
	} {
		if got := throttleKey(in); got != want {
			t.Errorf("throttleKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// The throttle's table cannot grow without bound: beyond its size, new
// addresses share one bucket.
func TestThrottleTableBounded(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	th := newLoginThrottle(clk)
	for i := range throttleMaxAddrs * 3 {
		th.fail(fmt.Sprintf("10.%d.%d.%d:1883", i>>16&255, i>>8&255, i&255))
	}
	if n := len(th.addrs); n > throttleMaxAddrs+1 {
		t.Fatalf("%d buckets, want at most %d", n, throttleMaxAddrs+1)
	}
	clk.Advance(throttleBurst * 2 * throttleLeak)
	th.fail("192.0.2.1:1")
	if n := len(th.addrs); n > 2 {
		t.Fatalf("%d buckets after they drained, want the drained ones pruned", n)
	}
}
