package device

import (
	"errors"
	"time"

	"github.com/rs/zerolog"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The devices' side of the polling economy: every read asks readAllowed
// first and reports to readDone after, so a paused account, a 429 or a
// failing endpoint costs no further request.

// readAllowed reports whether the read key (device uid + endpoint) may run
// now: no EXCEEDED_LIMIT pause, no back-off of its own.
func (r *Registry) readAllowed(key string, now time.Time) bool {
	return !r.pollingPaused(now) && !r.accountBlocked(now) && !r.pool.HostPaused(now) && r.gates.Allows(key, now)
}

// readDone records the outcome of a read of key; EXCEEDED_LIMIT pauses
// every poll.
func (r *Registry) readDone(key, device string, err error, now time.Time) {
	dead := r.accountOutcome(err, now)
	if errors.Is(err, fleet.ErrExceededLimit) {
		r.pausePolling(now, err)
		return
	}
	if dead {
		return
	}
	if errors.Is(err, fleet.ErrRateLimited) {
		// The gate keeps the device's own wait; a second device's 429 in
		// a row pauses the whole host, so the rest of a round does not
		// earn one each (pool.go).
		wait := fleet.RetryAfterOf(err)
		if wait <= 0 {
			wait = time.Minute
		}
		if r.pool.RateLimited(device, now, wait) {
			r.log.Warn().Dur("retry_after", wait).Msg("rate limited by Tesla on more than one device; all reads wait")
		}
	}
	r.gates.Done(key, device, err, now)
}

// pausePolling stops every poll for economy.ExceededPause and has the
// host say so (bridge/event, bridge/info), once per pause.
func (r *Registry) pausePolling(now time.Time, err error) {
	if !r.pauser.Pause(now, economy.ExceededPause, err.Error()) {
		return
	}
	until := now.Add(economy.ExceededPause)
	r.log.Error().Err(err).Time("until", until).Msg("Tesla says the app's billing limit is exceeded; polling paused")
	r.host.Paused(now, until, err)
}

// pollingPaused reports whether an EXCEEDED_LIMIT pause is running.
func (r *Registry) pollingPaused(now time.Time) bool {
	return !r.pauser.PausedUntil(now).IsZero()
}

// readLog picks the level of a failed read's log line. Without a usable
// login every read fails for the same reason, which the account already
// reported once (log line, event, problem sensor): those become debug lines
// instead of a warning per device a minute.
func (r *Registry) readLog(err error) *zerolog.Event {
	if errors.Is(err, fleet.ErrLoginRequired) || errors.Is(err, fleet.ErrNoToken) {
		return r.log.Debug()
	}
	return r.log.Warn()
}
