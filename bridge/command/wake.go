package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// ErrWakeTimeout marks a car that did not come online in time; the result
// says vehicle_asleep.
var ErrWakeTimeout = errors.New("the car did not come online in time")

// errCarOffline is a wake that ended with the car offline (no connection)
// rather than asleep: both an ErrWakeTimeout and a fleet.ErrOffline, so
// the result says vehicle_offline.
var errCarOffline error = wakeOffline{}

type wakeOffline struct{}

func (wakeOffline) Error() string {
	return ErrWakeTimeout.Error() + ": the car is offline (no connection)"
}

func (wakeOffline) Unwrap() []error { return []error{ErrWakeTimeout, fleet.ErrOffline} }

// WakeAPI is what waking a car needs of the Fleet API: the wake itself and
// the cheap state check that never wakes a car.
type WakeAPI interface {
	WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error)
	Vehicle(ctx context.Context, vin string) (*fleet.Vehicle, error)
}

// Waker wakes cars through the Fleet API.
type Waker struct {
	API   WakeAPI
	Clock clock.Clock
	// Timeout bounds waiting for the car to come online; Interval is the
	// pause between state checks.
	Timeout, Interval time.Duration
}

// Wake sends wake_up and then checks the cheap vehicle state until the car
// is online, bounded by Timeout and by the deadline of the command on ctx
// (ErrExpired when that comes first: a wake is worth waiting for only
// while the command may still start). It returns nil once the car is
// online.
func (w Waker) Wake(ctx context.Context, vin string) error {
	clk := clock.OrReal(w.Clock)
	deadline := clk.Now().Add(w.Timeout)
	expires := false
	if sb, ok := deadlineOf(ctx); ok && sb.at.Before(deadline) {
		deadline, expires = sb.at, true
	}
	if expires && !clk.Now().Before(deadline) {
		return ErrExpired // not even the wake_up is worth its price
	}
	if _, err := w.API.WakeUp(ctx, vin); err != nil {
		return err
	}
	for {
		if err := clk.Sleep(ctx, min(w.Interval, max(deadline.Sub(clk.Now()), 0))); err != nil {
			return err
		}
		v, err := w.API.Vehicle(ctx, vin)
		if err == nil && v.State == fleet.StateOnline {
			return nil
		}
		if err != nil && !errors.Is(err, fleet.ErrAsleep) && !errors.Is(err, fleet.ErrServer) && !errors.Is(err, fleet.ErrTimeout) {
			return err
		}
		if !clk.Now().Before(deadline) {
			switch {
			case expires:
				return fmt.Errorf("the car did not wake up in time: %w", ErrExpired)
			case err == nil && v.State == fleet.StateOffline:
				return errCarOffline
			}
			return ErrWakeTimeout
		}
	}
}
