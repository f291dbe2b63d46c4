package economy

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Fault handling constants: a 429 waits its Retry-After; from the second
// consecutive 5xx or timeout on, a read waits faultBase×2^(n-2) plus up to
// 25 % jitter (capped at faultMax); after faultTrip failures the device's
// circuit opens for faultOpen. One device's troubles never delay another's.
const (
	faultBase        = 30 * time.Second
	faultMax         = 15 * time.Minute
	faultTrip        = 5
	faultOpen        = 15 * time.Minute
	defaultRetryWait = time.Minute
)

// ExceededPause is the polling pause after EXCEEDED_LIMIT (TeslaMate's).
const ExceededPause = 15 * time.Minute

// faultGate is the retry state of one device's endpoint.
type faultGate struct {
	retryAt  time.Time
	failures int
	open     bool
}

// Gates hold the retry state of every device's endpoints, by key (device
// uid + endpoint): a 429, a back-off or an open circuit of one read never
// delays another. Safe for concurrent use.
type Gates struct {
	log zerolog.Logger

	mu    sync.Mutex
	gates map[string]*faultGate
}

// NewGates returns gates that log what they decide to l.
func NewGates(l zerolog.Logger) *Gates {
	return &Gates{log: l, gates: map[string]*faultGate{}}
}

// Allows reports whether key may be read now.
func (gs *Gates) Allows(key string, now time.Time) bool {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g := gs.gates[key]
	return g == nil || !now.Before(g.retryAt)
}

// Done records the outcome of a read of key (device names the device in
// log lines). Errors that say nothing about the service (asleep car,
// missing scope) leave the gate alone; an EXCEEDED_LIMIT is the caller's
// to handle, as a pause of all polling.
func (gs *Gates) Done(key, device string, err error, now time.Time) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g := gs.gates[key]
	if g == nil {
		g = &faultGate{}
		gs.gates[key] = g
	}
	switch {
	case err == nil || errors.Is(err, fleet.ErrAsleep):
		if g.open {
			gs.log.Info().Str("device", device).Str("read", key).Msg("reads work again; circuit closed")
		}
		*g = faultGate{}
	case errors.Is(err, fleet.ErrRateLimited):
		wait := fleet.RetryAfterOf(err)
		if wait <= 0 {
			wait = defaultRetryWait
		}
		g.retryAt = now.Add(wait)
		gs.log.Warn().Str("device", device).Str("read", key).Dur("retry_after", wait).Msg("rate limited by Tesla; waiting")
	case fleet.Temporary(err):
		g.failures++
		if g.failures < 2 {
			return // one failure: the next tick is the retry
		}
		wait := min(faultBase<<min(g.failures-2, 10), faultMax)
		wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		if g.failures >= faultTrip {
			wait = faultOpen
			if !g.open {
				gs.log.Warn().Str("device", device).Str("read", key).Int("failures", g.failures).
					Dur("for", wait).Msg("repeated failures; circuit open for this device")
			}
			g.open = true
		}
		g.retryAt = now.Add(wait)
	}
}
