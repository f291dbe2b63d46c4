package readgate

import (
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The devices' side of the polling economy: every read asks Allowed first
// and reports to Done after, so a paused account, a 429 or a failing
// endpoint costs no further request. The account's dead ends
// (economy.DeadEnds) ride along: every read and product list reports its
// outcome; a dead end blocks every read until its back-off ends, and the
// host announces it when it starts and when it clears.

// Host is what the gate tells the bridge: a pause Tesla's EXCEEDED_LIMIT
// started, and an account-level dead end starting or clearing. The device
// registry's Host is one.
type Host interface {
	Paused(now, until time.Time, err error)
	Problem(p *economy.Problem, fresh bool)
	ProblemCleared(p *economy.Problem)
}

// Pool is the read pool's host-wide 429 back-off (lanes.Pool): a second
// device's 429 in a row pauses the whole host.
type Pool interface {
	HostPaused(now time.Time) bool
	RateLimited(device string, now time.Time, wait time.Duration) bool
}

// Gate keeps the registry's reads within the polling economy.
type Gate struct {
	// Gates are the per-endpoint back-offs; Pauser keeps the
	// EXCEEDED_LIMIT pause; DeadEnds tracks the account's dead ends (nil
	// tracks none).
	Gates    *economy.Gates
	Pauser   economy.Pauser
	DeadEnds *economy.DeadEnds
	Pool     Pool
	Host     Host
	Log      zerolog.Logger
}

// Allowed reports whether the read key (device uid + endpoint) may run
// now: no EXCEEDED_LIMIT pause, no dead end, no host-wide 429, no back-off
// of its own.
func (g *Gate) Allowed(key string, now time.Time) bool {
	return !g.pollingPaused(now) && !g.Blocked(now) && !g.Pool.HostPaused(now) && g.Gates.Allows(key, now)
}

// Done records the outcome of a read of key; EXCEEDED_LIMIT pauses every
// poll.
func (g *Gate) Done(key, device string, err error, now time.Time) {
	dead := g.Outcome(err, now)
	if errors.Is(err, fleet.ErrExceededLimit) {
		g.pausePolling(now, err)
		return
	}
	if dead {
		return
	}
	if errors.Is(err, fleet.ErrRateLimited) {
		// The gate keeps the device's own wait; a second device's 429 in
		// a row pauses the whole host, so the rest of a round does not
		// earn one each (lanes.Pool).
		wait := fleet.RetryAfterOf(err)
		if wait <= 0 {
			wait = time.Minute
		}
		if g.Pool.RateLimited(device, now, wait) {
			g.Log.Warn().Dur("retry_after", wait).Msg("rate limited by Tesla on more than one device; all reads wait")
		}
	}
	g.Gates.Done(key, device, err, now)
}

// pausePolling stops every poll for economy.ExceededPause and has the
// host say so (bridge/event, bridge/info), once per pause.
func (g *Gate) pausePolling(now time.Time, err error) {
	if !g.Pauser.Pause(now, economy.ExceededPause, err.Error()) {
		return
	}
	until := now.Add(economy.ExceededPause)
	g.Log.Error().Err(err).Time("until", until).Msg("Tesla says the app's billing limit is exceeded; polling paused")
	g.Host.Paused(now, until, err)
}

// pollingPaused reports whether an EXCEEDED_LIMIT pause is running.
func (g *Gate) pollingPaused(now time.Time) bool {
	return !g.Pauser.PausedUntil(now).IsZero()
}

// LogFor picks the level of a failed read's log line. Without a usable
// login every read fails for the same reason, which the account already
// reported once (log line, event, problem sensor): those become debug lines
// instead of a warning per device a minute.
func (g *Gate) LogFor(err error) *zerolog.Event {
	if errors.Is(err, fleet.ErrLoginRequired) || errors.Is(err, fleet.ErrNoToken) {
		return g.Log.Debug()
	}
	return g.Log.Warn()
}

// Outcome records a read's outcome against the account's dead ends and
// reports whether err was one (the caller then keeps it out of the
// endpoint's own gate: the account's back-off already spaces the calls).
func (g *Gate) Outcome(err error, now time.Time) bool {
	de := g.DeadEnds
	if de == nil {
		return false
	}
	if err == nil {
		if cleared := de.Succeeded(); cleared != nil {
			g.Log.Info().Str("problem", cleared.Code).Msg("the account's problem is gone; polling resumes")
			g.Host.ProblemCleared(cleared)
		}
		return false
	}
	p, fresh := de.Failed(err, now)
	if p == nil {
		return false
	}
	ev := g.Log.Debug()
	if fresh {
		ev = g.Log.Error()
	}
	ev.Str("problem", p.Code).Time("retry_at", p.RetryAt).Str("remedy", p.Remedy).Msg(p.Message)
	g.Host.Problem(p, fresh)
	return true
}

// Blocked reports whether the account's dead end holds every call back
// now.
func (g *Gate) Blocked(now time.Time) bool {
	return g.DeadEnds != nil && g.DeadEnds.Blocked(now)
}
