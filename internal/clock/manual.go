package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Manual is a clock that moves only when told to: Advance and Set fire
// the timers that fall due, in time order. Tests use it so nothing waits on
// real time. Safe for concurrent use.
//
// By default Sleep advances the clock by the sleep's length and returns at
// once, because a component that sleeps (a wake poll, a back-off) wants
// simulated time to pass, not to block the test; SetSleepBlocks makes Sleep
// wait for Advance like a timer does.
type Manual struct {
	mu          sync.Mutex
	now         time.Time
	timers      []*manualTimer
	sleepBlocks bool
	// changed is closed and replaced whenever a timer is added, so
	// BlockUntil can wait for a goroutine to reach its timer.
	changed chan struct{}
}

// NewManual returns a Manual clock stopped at start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NewTimer returns a timer that fires when the clock reaches now+d.
func (m *Manual) NewTimer(d time.Duration) Timer {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{m: m, at: m.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- m.now
		t.fired = true
		return t
	}
	m.timers = append(m.timers, t)
	close(m.changed)
	m.changed = make(chan struct{})
	return t
}

// Sleep advances the clock by d and returns (the default), or with
// SetSleepBlocks(true) waits until the clock has been advanced past d.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	m.mu.Lock()
	blocks := m.sleepBlocks
	m.mu.Unlock()
	if !blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.Advance(d)
		return nil
	}
	return sleepOn(ctx, m.NewTimer(d))
}

// SetSleepBlocks chooses whether Sleep waits for Advance (true) or advances
// the clock itself (false, the default).
func (m *Manual) SetSleepBlocks(b bool) {
	m.mu.Lock()
	m.sleepBlocks = b
	m.mu.Unlock()
}

// Advance moves the clock forward by d and fires the timers that fall due.
// A negative d moves the clock back and fires nothing.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.setLocked(m.now.Add(d))
	m.mu.Unlock()
}

// Set jumps the clock to t and fires the timers that fall due.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.setLocked(t)
	m.mu.Unlock()
}

func (m *Manual) setLocked(t time.Time) {
	m.now = t
	sort.SliceStable(m.timers, func(i, j int) bool { return m.timers[i].at.Before(m.timers[j].at) })
	keep := m.timers[:0]
	for _, tm := range m.timers {
		if tm.at.After(t) {
			keep = append(keep, tm)
			continue
		}
		tm.fired = true
		tm.c <- tm.at
	}
	for i := len(keep); i < len(m.timers); i++ {
		m.timers[i] = nil
	}
	m.timers = keep
}

// Pending returns the number of timers waiting to fire.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

// BlockUntil waits until at least n timers are pending, or ctx ends: a test
// calls it before Advance to be sure the goroutine under test is waiting.
func (m *Manual) BlockUntil(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		if len(m.timers) >= n {
			m.mu.Unlock()
			return nil
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NextDeadline returns when the earliest pending timer fires, and false
// when none is pending.
func (m *Manual) NextDeadline() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first time.Time
	for _, t := range m.timers {
		if first.IsZero() || t.at.Before(first) {
			first = t.at
		}
	}
	return first, !first.IsZero()
}

type manualTimer struct {
	m     *Manual
	at    time.Time
	c     chan time.Time
	fired bool // guarded by m.mu
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.fired {
		return false
	}
	for i, o := range t.m.timers {
		if o == t {
			t.m.timers = append(t.m.timers[:i], t.m.timers[i+1:]...)
			t.fired = true
			return true
		}
	}
	return false
}
