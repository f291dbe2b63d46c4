package economy

import (
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Pause stops polling until now+d (Tesla answered EXCEEDED_LIMIT). It
// reports whether this started a new pause, so the caller announces it once.
func (b *Budget) Pause(now time.Time, d time.Duration, reason string) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	fresh := b.st.Paused == nil || !now.Before(b.st.Paused.Until)
	if fresh {
		b.st.Paused = &budgetPaused{Until: now.Add(d), Reason: reason}
		b.dirty = true
	}
	return fresh
}

// PausedUntil returns the end of the current pause, or zero.
func (b *Budget) PausedUntil(now time.Time) time.Time {
	if b == nil {
		return time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	if p := b.st.Paused; p != nil && now.Before(p.Until) {
		return p.Until
	}
	return time.Time{}
}

// Blocked reports whether the hard cap refuses commands now.
func (b *Budget) Blocked() bool {
	if b == nil || !b.opts.HardCap || b.opts.MonthlyUSD <= 0 {
		return false
	}
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	return b.st.SpendUSD >= b.opts.MonthlyUSD
}

// HardCapError is what a command or wake refused by the hard cap fails
// with: an EXCEEDED_LIMIT, so the result carries the budget_exceeded code.
func HardCapError(endpoint string) error {
	return &fleet.APIError{Endpoint: endpoint, Kind: fleet.ErrExceededLimit,
		Message: "refused by tesla2mqtt: this month's spend reached [budget] monthly_usd and hard_cap is on"}
}

// Pauser keeps the polling pause that Tesla's EXCEEDED_LIMIT starts: the
// Budget when one is configured (so the pause survives a restart and shows
// in its status), else a Pause.
type Pauser interface {
	// Pause stops polling until now+d; it reports whether this started a
	// new pause, so the caller announces it once.
	Pause(now time.Time, d time.Duration, reason string) bool
	// PausedUntil returns the end of the current pause, or zero.
	PausedUntil(now time.Time) time.Time
}

// Pause is the polling pause of a bridge without a budget. The zero value
// is ready to use.
type Pause struct {
	mu    sync.Mutex
	until time.Time
}

// Pause implements Pauser.
func (p *Pause) Pause(now time.Time, d time.Duration, _ string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Before(p.until) {
		return false
	}
	p.until = now.Add(d)
	return true
}

// PausedUntil implements Pauser.
func (p *Pause) PausedUntil(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Before(p.until) {
		return p.until
	}
	return time.Time{}
}

var (
	_ Pauser = (*Budget)(nil)
	_ Pauser = (*Pause)(nil)
)
