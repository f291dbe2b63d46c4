package command

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// queueSize bounds the commands waiting per device; more are refused with
// overloaded rather than piling up behind a sleeping car.
const queueSize = 16

// commandGrace is how long a command in flight at shutdown may still take:
// long enough for a REST command to answer, short enough that SIGTERM ends
// the process within 5 s. A command cut off by it gets status unknown.
const commandGrace = 2 * time.Second

// Executor runs every device's commands: one queue and one worker per
// device, so a slow car never holds up another. Run owns the workers.
type Executor struct {
	opts Options
	log  zerolog.Logger

	mu     sync.Mutex
	queues map[Target]*queue
	// stopped: Run has ended; jobs are refused at once.
	stopped bool
	// kick tells Run that a queue waits for its worker.
	kick chan struct{}
}

// queue is one device's commands. Its fields are guarded by Executor.mu.
type queue struct {
	t    Target
	jobs chan Job
	// left is closed when the device left the account.
	left     chan struct{}
	gone     bool
	working  bool
	cmdTimes []time.Time
	// confirm: a confirming read is pending for the burst in progress;
	// confirmMore: the last job said more of its message follow (confirm.go).
	confirm, confirmMore bool
	// wakeFailed is when a wake for this device last timed out: the jobs
	// that waited through it fail with it (wakefail.go).
	wakeFailed time.Time
}

// NewExecutor returns an Executor; nothing runs until Run.
func NewExecutor(opts Options) *Executor {
	opts.Clock = clock.OrReal(opts.Clock)
	return &Executor{opts: opts, log: opts.Logger, queues: map[Target]*queue{}, kick: make(chan struct{}, 1)}
}

// Enqueue hands a job to the device's worker. A full queue, a device that
// left and a stopped executor answer with a result at once.
func (e *Executor) Enqueue(t Target, j Job) {
	if j.Arrived.IsZero() {
		j.Arrived = e.opts.Clock.Now()
	}
	e.mu.Lock()
	q := e.queues[t]
	if q == nil && !e.stopped {
		q = &queue{t: t, jobs: make(chan Job, queueSize), left: make(chan struct{})}
		e.queues[t] = q
	}
	var refusal string
	queued := false
	switch {
	case e.stopped:
		refusal = "the bridge is shutting down; the command was not sent"
	case q.gone:
		refusal = "the device left the account; the command was not sent"
	default:
		select {
		case q.jobs <- j:
			queued = true
		default:
		}
	}
	e.mu.Unlock()
	switch {
	case refusal != "":
		t.Publish(notSent(j, refusal))
	case queued:
		e.log.Debug().Str("device", t.Name()).Str("key", j.Key).Interface("transaction", j.Transaction).Msg("command queued")
		select {
		case e.kick <- struct{}{}:
		default:
		}
	default:
		t.Publish(Result{Transaction: j.Transaction, Key: j.Key, Command: j.Cmd.Name, Status: StatusError,
			Error: &ResultError{Code: CodeOverloaded, Message: fmt.Sprintf("%d commands are already waiting for %s; this one was not sent", queueSize, t.Name()),
				Remedy: "wait for the pending commands' results before sending more"}})
	}
}

// Remove ends the device's worker: the device left the account. Commands
// still waiting get a result saying so.
func (e *Executor) Remove(t Target) {
	e.mu.Lock()
	q := e.queues[t]
	if q == nil || q.gone {
		e.mu.Unlock()
		return
	}
	q.gone = true
	close(q.left)
	idle := !q.working
	e.mu.Unlock()
	if idle {
		drain(q, "the device left the account; the command was not sent")
	}
}

// Run starts a worker for every device with commands until ctx ends. On
// return every worker has finished: commands that waited got a result, and
// a command in flight had commandGrace to complete.
func (e *Executor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for {
		e.startWorkers(ctx, &wg)
		select {
		case <-e.kick:
		case <-ctx.Done():
			e.mu.Lock()
			e.stopped = true
			e.mu.Unlock()
			wg.Wait()
			// Nothing enters a queue any more: answer what is left, also
			// in queues whose worker never started.
			e.mu.Lock()
			qs := make([]*queue, 0, len(e.queues))
			for _, q := range e.queues {
				qs = append(qs, q)
			}
			e.mu.Unlock()
			for _, q := range qs {
				drain(q, "the bridge is shutting down; the command was not sent")
			}
			return nil
		}
	}
}

// startWorkers starts a worker for each queue that has none.
func (e *Executor) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range e.queues {
		if q.working || q.gone {
			continue
		}
		q.working = true
		wg.Go(func() { e.work(ctx, q) })
	}
}

// work runs one device's commands, one at a time, until ctx ends or the
// device leaves the account.
func (e *Executor) work(ctx context.Context, q *queue) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error().Str("device", q.t.Name()).Interface("panic", r).Msg("command worker panicked; recovered")
		}
	}()
	for {
		select {
		case <-ctx.Done():
			drain(q, "the bridge is shutting down; the command was not sent")
			return
		case <-q.left:
			drain(q, "the device left the account; the command was not sent")
			return
		default:
		}
		settle := e.settleTimer(q)
		select {
		case j := <-q.jobs:
			e.guard(q.t, func() { e.runGraced(ctx, q, j) })
		case <-timerC(settle):
			e.guard(q.t, func() { e.flushConfirm(ctx, q) })
		case <-ctx.Done():
		case <-q.left:
		}
		if settle != nil {
			settle.Stop()
		}
	}
}

// runGraced runs one job on a context of its own that outlives ctx by
// commandGrace, so shutdown lets a command in flight finish instead of
// abandoning it half-sent; only a command in flight waits out the grace.
func (e *Executor) runGraced(ctx context.Context, q *queue, j Job) {
	cmdCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	graced := make(chan struct{})
	defer func() { cancel(); <-graced }()
	go func() {
		defer close(graced)
		select {
		case <-ctx.Done():
			t := e.opts.Clock.NewTimer(commandGrace)
			defer t.Stop()
			select {
			case <-t.C():
			case <-cmdCtx.Done():
			}
		case <-cmdCtx.Done():
		}
		cancel()
	}()
	e.runJob(cmdCtx, q, j)
}

// guard runs one command and turns a panic into a log line: one odd
// command must never take the bridge down.
func (e *Executor) guard(t Target, f func()) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error().Str("job", "command "+t.Name()).Interface("panic", r).Msg("job panicked; recovered")
		}
	}()
	f()
}

// drain answers every job still in q with refusal.
func drain(q *queue, refusal string) {
	for {
		select {
		case j := <-q.jobs:
			q.t.Publish(notSent(j, refusal))
		default:
			return
		}
	}
}

// notSent is the result of a job that was never sent.
func notSent(j Job, msg string) Result {
	return Result{Transaction: j.Transaction, Key: j.Key, Command: j.Cmd.Name, Status: StatusError,
		Error: &ResultError{Code: CodeFleetError, Message: msg, Remedy: "send it again when the bridge is back"}}
}

// runJob runs one job and publishes exactly one result.
func (e *Executor) runJob(ctx context.Context, q *queue, j Job) {
	t := q.t
	res := Result{Transaction: j.Transaction, Key: j.Key, Command: j.Cmd.Name}
	re := e.expired(j, e.opts.Clock.Now())
	if re == nil {
		re = e.wakeFailedFor(q, j)
	}
	if re == nil {
		re = e.admit(q, j)
	}
	if re != nil {
		res.Status, res.Error = StatusError, re
		t.Publish(res)
		t.Settle(ctx, res, e.confirmNow(q, j, false))
		return
	}
	sendCtx := ctx
	if j.Cmd.Name != "wake_up" {
		// A wake_up has started once it is sent: waiting for the car to
		// come online is its own business, not a late command.
		sendCtx = withDeadline(ctx, e.deadline(j), e.opts.Clock)
	}
	cr, woke, err := t.Send(sendCtx, j.Cmd)
	e.noteWake(q, err)
	res.Woke = woke
	classify(e.opts, t, cr, err, &res)
	t.Publish(res)
	t.Settle(ctx, res, e.confirmNow(q, j, res.Status != StatusError || res.Error == nil || res.Error.Code == CodeCarRefused))
}

// admit applies the safety rails before any Fleet call: allow/deny, the
// per-device rate limit and the token's scopes.
func (e *Executor) admit(q *queue, j Job) *ResultError {
	c := e.opts
	if j.Group != "" && (slices.Contains(c.Deny, j.Group) || len(c.Allow) > 0 && !slices.Contains(c.Allow, j.Group)) {
		return &ResultError{Code: CodeCommandDenied, Message: fmt.Sprintf("commands of group %q are not allowed by this bridge's configuration", j.Group),
			Remedy: "change [commands] allow/deny in the config if you want this command to run"}
	}
	now := e.opts.Clock.Now()
	e.mu.Lock()
	recent := q.cmdTimes[:0]
	for _, t := range q.cmdTimes {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	q.cmdTimes = recent
	limited := len(recent) >= c.RateLimitPerMinute
	var retry time.Duration
	if limited {
		retry = time.Minute - now.Sub(recent[0])
	} else {
		q.cmdTimes = append(q.cmdTimes, now)
	}
	e.mu.Unlock()
	if limited {
		return &ResultError{Code: CodeRateLimited, RetryAfter: int(retry.Seconds()) + 1,
			Message: fmt.Sprintf("more than %d commands a minute for %s", c.RateLimitPerMinute, q.t.Name()),
			Remedy:  "slow down the automation that sends these commands, or raise [commands] rate_limit_per_minute"}
	}
	if c.Granted == nil {
		return nil
	}
	if granted := c.Granted(); granted != nil && len(j.Scopes) > 0 {
		ok := false
		for _, s := range j.Scopes {
			ok = ok || granted[s]
		}
		if !ok {
			url := fleet.ConsentURL(c.ClientID, "")
			return &ResultError{Code: CodeMissingScope, URL: url,
				Message: fmt.Sprintf("the Tesla login lacks the %s scope this command needs", j.Scopes[0]),
				Remedy:  fmt.Sprintf("grant %s on Tesla's consent page (%s), then run 'tesla2mqtt login' again", j.Scopes[0], url)}
		}
	}
	return nil
}
