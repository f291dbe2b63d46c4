// Package clock is the one place tesla2mqtt reads time from. Every other
// package takes a Clock in its options, so tests run on a Manual clock that
// moves only when told to, and the suite behaves the same on any date.
// clock_guard_test.go in cmd/tesla2mqtt fails the build when production
// code elsewhere calls time.Now, time.Since, time.After, time.NewTimer or
// time.Tick directly.
package clock

import (
	"context"
	"time"
)

// Clock tells the time, makes timers and sleeps. Real is the wall clock;
// Manual is the test clock; Scaled runs faster than the wall clock (demo).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once d of this clock's time has
	// passed (at once for d <= 0).
	NewTimer(d time.Duration) Timer
	// Sleep waits d of this clock's time or until ctx ends; it returns
	// ctx.Err() when ctx ended first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

// OrReal returns c, or the wall clock when c is nil: options structs use it
// for their zero value.
func OrReal(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

// Since returns the time elapsed on c since t.
func Since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }

// After is the clock's time.After: a channel that receives once d passed.
// Prefer NewTimer where the wait may be abandoned, so the timer is stopped.
func After(c Clock, d time.Duration) <-chan time.Time { return c.NewTimer(d).C() }

// realClock is the wall clock: the only code in tesla2mqtt allowed to read it.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	return sleepOn(ctx, realTimer{time.NewTimer(d)})
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// sleepOn waits for t or ctx.
func sleepOn(ctx context.Context, t Timer) error {
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Tick sends the clock's time on the returned channel every d until ctx
// ends, like time.Tick but on c and without leaking: the goroutine behind
// it ends with ctx. A tick the reader is not ready for is dropped.
func Tick(ctx context.Context, c Clock, d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		for {
			t := c.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case now := <-t.C():
				select {
				case ch <- now:
				default:
				}
			}
		}
	}()
	return ch
}
