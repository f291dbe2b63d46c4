package bridge

import (
	"errors"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The bridge's side of the polling economy: every read asks readAllowed
// first and reports to readDone after, so a paused account, a 429 or a
// failing endpoint costs no further request.

// readAllowed reports whether the read key (device uid + endpoint) may run
// now: no EXCEEDED_LIMIT pause, no back-off of its own.
func (b *Bridge) readAllowed(key string, now time.Time) bool {
	return !b.pollingPaused(now) && b.gates.Allows(key, now)
}

// readDone records the outcome of a read of key; EXCEEDED_LIMIT pauses
// every poll.
func (b *Bridge) readDone(key, device string, err error, now time.Time) {
	if errors.Is(err, fleet.ErrExceededLimit) {
		b.pausePolling(now, err)
		return
	}
	b.gates.Done(key, device, err, now)
}

// pausePolling stops every poll for economy.ExceededPause and says so: in
// the log, on bridge/event and in bridge/info.
func (b *Bridge) pausePolling(now time.Time, err error) {
	if !b.pauser.Pause(now, economy.ExceededPause, err.Error()) {
		return
	}
	until := now.Add(economy.ExceededPause)
	b.log.Error().Err(err).Time("until", until).Msg("Tesla says the app's billing limit is exceeded; polling paused")
	ev := economy.BudgetEvent{Type: economy.EventPollingPaused, Message: "Tesla answered EXCEEDED_LIMIT: polling paused for 15 minutes; raise the billing limit on developer.tesla.com",
		Until: until.UTC().Format(time.RFC3339), At: now.UTC().Format(time.RFC3339), Stretch: b.opts.Budget.Stretch()}
	if st := b.opts.Budget.Status(); st != nil {
		ev.SpendUSD, ev.ProjectedUSD, ev.BudgetUSD = st.SpendUSD, st.ProjectedUSD, st.BudgetUSD
	}
	b.publishBudgetEvent(ev)
	b.publishInfoOnly()
}

// pollingPaused reports whether an EXCEEDED_LIMIT pause is running.
func (b *Bridge) pollingPaused(now time.Time) bool {
	return !b.pauser.PausedUntil(now).IsZero()
}
