package command

import (
	"context"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// One read after a burst. Each command that changed something wants the
// device read once to confirm it, and each read costs a billable
// vehicle_data. Commands to one device coalesce that read: while more
// jobs wait in the device's queue, or the job said more of its message
// follow (Job.More), the read waits; the last job of the burst reads once
// for all of them. A burst whose follow-up never arrives (refused at the
// door) still gets its read after confirmSettle.
const confirmSettle = 2 * time.Second

// confirmNow records whether the job just run wants a confirming read and
// reports whether to read now: nothing waits behind it.
func (e *Executor) confirmNow(q *queue, j Job, want bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	q.confirm = q.confirm || want
	q.confirmMore = j.More
	if len(q.jobs) > 0 || j.More {
		return false
	}
	c := q.confirm
	q.confirm = false
	return c
}

// settleTimer is the wait for a burst's follow-up when a read is pending
// behind a job that said more would come; nil (no wait) otherwise.
func (e *Executor) settleTimer(q *queue) clock.Timer {
	e.mu.Lock()
	pending := q.confirm && q.confirmMore
	e.mu.Unlock()
	if !pending {
		return nil
	}
	return e.opts.Clock.NewTimer(confirmSettle)
}

// flushConfirm reads the device for a burst whose follow-up did not come.
func (e *Executor) flushConfirm(ctx context.Context, q *queue) {
	e.mu.Lock()
	c := q.confirm
	q.confirm, q.confirmMore = false, false
	e.mu.Unlock()
	if !c {
		return
	}
	if cf, ok := q.t.(confirmer); ok {
		cf.Confirm(ctx)
		return
	}
	q.t.Settle(ctx, Result{}, true)
}

// confirmer is a Target that can read the device without the hooks a
// command's Settle tells (the bridge's): the late read of a burst belongs
// to no one command.
type confirmer interface {
	Confirm(ctx context.Context)
}

// timerC is t's channel, or nil (never ready) for no timer.
func timerC(t clock.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}
