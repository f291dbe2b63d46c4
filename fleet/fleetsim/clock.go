package fleetsim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of "now". All simulated physics (charging,
// sleeping, the solar curve, battery state of charge) and token expiry are
// computed from it, so tests can move time forward without sleeping.
type Clock interface {
	Now() time.Time
}

// realClock is the wall clock, used when Options.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a clock that only moves when told to. Tests use it to make
// the simulator deterministic: Advance(WakeDelay) wakes a car, Advance of a
// few hours charges a battery. Safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the current simulated time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d moves it back).
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set jumps the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// ScaledClock runs simulated time faster (or slower) than real time, for the
// demo mode: with speed 60 a simulated hour of charging and solar production
// passes in a real minute. Simulated time = start + speed × real elapsed time.
// It is immutable and therefore safe for concurrent use.
type ScaledClock struct {
	start     time.Time
	realStart time.Time
	speed     float64
}

// NewScaledClock returns a clock that starts at start and runs speed times as
// fast as the wall clock. A speed <= 0 is treated as 1.
func NewScaledClock(start time.Time, speed float64) *ScaledClock {
	if speed <= 0 {
		speed = 1
	}
	return &ScaledClock{start: start, realStart: time.Now(), speed: speed}
}

// Now returns the current simulated time.
func (c *ScaledClock) Now() time.Time {
	elapsed := time.Since(c.realStart)
	return c.start.Add(time.Duration(float64(elapsed) * c.speed))
}
