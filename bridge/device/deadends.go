package device

import (
	"time"
)

// The devices' side of the account's dead ends (economy.DeadEnds, in Options): every
// read and product list reports its outcome here; a dead end blocks every
// read until its back-off ends, and the host announces it when it starts
// and when it clears.

// accountOutcome records a read's outcome against the account's dead ends
// and reports whether err was one (the caller then keeps it out of the
// endpoint's own gate: the account's back-off already spaces the calls).
func (r *Registry) accountOutcome(err error, now time.Time) bool {
	de := r.opts.DeadEnds
	if de == nil {
		return false
	}
	if err == nil {
		if cleared := de.Succeeded(); cleared != nil {
			r.log.Info().Str("problem", cleared.Code).Msg("the account's problem is gone; polling resumes")
			r.host.ProblemCleared(cleared)
		}
		return false
	}
	p, fresh := de.Failed(err, now)
	if p == nil {
		return false
	}
	ev := r.log.Debug()
	if fresh {
		ev = r.log.Error()
	}
	ev.Str("problem", p.Code).Time("retry_at", p.RetryAt).Str("remedy", p.Remedy).Msg(p.Message)
	r.host.Problem(p, fresh)
	return true
}

// accountBlocked reports whether the account's dead end holds every call
// back now.
func (r *Registry) accountBlocked(now time.Time) bool {
	return r.opts.DeadEnds != nil && r.opts.DeadEnds.Blocked(now)
}
