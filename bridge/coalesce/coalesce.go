package coalesce

import (
	"context"
	"sync"
)

// A full republish costs a message per entity of every device (hundreds
// per car), so requests for one are coalesced: at most one runs, and at
// most one more is pending however many arrive meanwhile (100 Home
// Assistant births in 10 s once made 31,200 discovery publishes). They run
// on Run's goroutines, never on the MQTT dispatcher, which keeps serving
// the other devices' commands meanwhile.

// maxWaiters bounds the republish requests waiting for their response;
// more are answered overloaded at once.
const maxWaiters = 256

// Republisher coalesces full republishes.
type Republisher struct {
	// kick (cap 1) is the pending republish.
	kick chan struct{}
	mu   sync.Mutex
	// waiters hear the end of the next republish that starts after they
	// asked (ok false: the bridge stopped first).
	waiters []func(ok bool)
}

// New returns a Republisher with nothing pending.
func New() *Republisher { return &Republisher{kick: make(chan struct{}, 1)} }

// Request asks for a republish; then, if not nil, is told when one that
// started after this request has finished. False when too many wait
// already (then is not kept).
func (r *Republisher) Request(then func(ok bool)) bool {
	if then != nil {
		r.mu.Lock()
		if len(r.waiters) >= maxWaiters {
			r.mu.Unlock()
			return false
		}
		r.waiters = append(r.waiters, then)
		r.mu.Unlock()
	}
	select {
	case r.kick <- struct{}{}:
	default: // one is pending already; it will serve this request too
	}
	return true
}

// Loop runs the requested republishes one at a time until ctx ends.
func (r *Republisher) Loop(ctx context.Context, run func()) {
	for {
		select {
		case <-ctx.Done():
			r.answer(false)
			return
		case <-r.kick:
		}
		r.mu.Lock()
		ws := r.waiters
		r.waiters = nil
		r.mu.Unlock()
		run()
		for _, w := range ws {
			w(true)
		}
	}
}

// answer tells every waiter ok.
func (r *Republisher) answer(ok bool) {
	r.mu.Lock()
	ws := r.waiters
	r.waiters = nil
	r.mu.Unlock()
	for _, w := range ws {
		w(ok)
	}
}
