package clock

import (
	"context"
	"time"
)

// Scaled runs faster (or slower) than a base clock, for the demo: with
// speed 60 a simulated hour of charging and solar production passes in a
// real minute. Its time = start + speed × the base clock's elapsed time;
// its timers and sleeps last d/speed on the base clock. Immutable, so safe
// for concurrent use.
type Scaled struct {
	base      Clock
	start     time.Time
	baseStart time.Time
	speed     float64
}

// NewScaled returns a clock that starts at start and runs speed times as
// fast as base. A speed <= 0 is treated as 1.
func NewScaled(base Clock, start time.Time, speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{base: base, start: start, baseStart: base.Now(), speed: speed}
}

// Now returns the scaled time.
func (c *Scaled) Now() time.Time {
	elapsed := c.base.Now().Sub(c.baseStart)
	return c.start.Add(time.Duration(float64(elapsed) * c.speed))
}

// NewTimer fires after d of scaled time.
func (c *Scaled) NewTimer(d time.Duration) Timer { return c.base.NewTimer(c.real(d)) }

// Sleep waits d of scaled time.
func (c *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	return c.base.Sleep(ctx, c.real(d))
}

func (c *Scaled) real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.speed) }
