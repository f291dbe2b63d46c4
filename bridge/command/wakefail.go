package command

import (
	"errors"
	"fmt"
	"time"
)

// A queue behind a sleeping car fails fast once the wake fails: the jobs
// that waited through a wake that timed out answer vehicle_asleep at once
// instead of each starting a wake of its own, which would run the last of
// them minutes after it was sent. A job that arrives after the failure
// tries again.

// noteWake remembers when a send failed because the car did not wake.
func (e *Executor) noteWake(q *queue, err error) {
	if !errors.Is(err, ErrWakeTimeout) {
		return
	}
	now := e.opts.Clock.Now()
	e.mu.Lock()
	q.wakeFailed = now
	e.mu.Unlock()
}

// wakeFailedFor is the result error of a job that arrived before the
// device's last failed wake ended, nil otherwise.
func (e *Executor) wakeFailedFor(q *queue, j Job) *ResultError {
	e.mu.Lock()
	failed := q.wakeFailed
	e.mu.Unlock()
	if failed.IsZero() || !j.Arrived.Before(failed) {
		return nil
	}
	return &ResultError{Code: CodeVehicleAsleep,
		Message: fmt.Sprintf("the car did not wake up for an earlier command (given up at %s); this one was not sent", failed.UTC().Format(time.RFC3339)),
		Remedy:  "try again; a car in deep sleep or with poor coverage can take longer"}
}
