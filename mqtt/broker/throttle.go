package broker

import (
	"net"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// The login throttle is a leaky bucket per client address: every failed
// login adds one, and one leaks out every throttleLeak. An address whose
// bucket holds throttleBurst is refused before its password is checked,
// so a guesser gets throttleBurst tries and then one every throttleLeak
// (6 a minute), and a flood of bad logins costs no bcrypt time.
const (
	throttleBurst = 5
	throttleLeak  = 10 * time.Second
	// throttleMaxAddrs bounds the table; beyond it, new addresses share
	// one bucket, so a botnet cannot grow memory, only throttle itself.
	throttleMaxAddrs = 4096
	throttleOverflow = "(other)"
)

// loginThrottle counts failed logins per address. Safe for concurrent use.
type loginThrottle struct {
	clock clock.Clock
	mu    sync.Mutex
	addrs map[string]*bucket
	// nextPrune spaces the scans of a full table: while every bucket is
	// busy, scanning on every failure would cost O(table) under the lock.
	nextPrune time.Time
}

type bucket struct {
	level float64   // failures not yet leaked out
	at    time.Time // when level was computed
}

func newLoginThrottle(c clock.Clock) *loginThrottle {
	return &loginThrottle{clock: clock.OrReal(c), addrs: map[string]*bucket{}}
}

// blocked reports whether remote (host:port) must wait before its next try.
func (t *loginThrottle) blocked(remote string) bool {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.addrs[throttleKey(remote)]
	if b == nil {
		b = t.addrs[throttleOverflow]
	}
	return b != nil && b.leak(now) >= throttleBurst
}

// fail records one failed login from remote.
func (t *loginThrottle) fail(remote string) {
	now := t.clock.Now()
	key := throttleKey(remote)
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.addrs[key]
	if b == nil {
		if len(t.addrs) >= throttleMaxAddrs && !now.Before(t.nextPrune) {
			t.prune(now)
			t.nextPrune = now.Add(throttleLeak)
		}
		if len(t.addrs) >= throttleMaxAddrs {
			key = throttleOverflow
		}
		if b = t.addrs[key]; b == nil {
			b = &bucket{at: now}
			t.addrs[key] = b
		}
	}
	b.level = b.leak(now) + 1
	b.at = now
}

// prune drops the buckets that have drained. The caller holds mu.
func (t *loginThrottle) prune(now time.Time) {
	for k, b := range t.addrs {
		if b.leak(now) <= 0 {
			delete(t.addrs, k)
		}
	}
}

// leak returns the level at now.
func (b *bucket) leak(now time.Time) float64 {
	return max(0, b.level-float64(now.Sub(b.at))/float64(throttleLeak))
}

// throttleKey is the client's IP address; an IPv6 client is keyed by its
// /64, since one host usually owns the whole prefix.
func throttleKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
