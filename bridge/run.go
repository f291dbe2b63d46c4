package bridge

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Run discovers the account's devices, reads them once, then polls on the
// schedule until ctx ends. It owns every goroutine the bridge starts: the
// command workers, the reads that get and refresh requests ask for, the
// delayed republish after Home Assistant's birth. On return the jobs have
// stopped, they have all ended (a command that ignores its context past
// the 3 s shutdown bound is the one exception: it ends when its call
// does), and each device's availability is left offline.
func (b *Bridge) Run(ctx context.Context) error {
	halt := sync.OnceFunc(func() { close(b.halted) })
	defer halt()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	execDone := make(chan struct{})
	go func() {
		defer close(execDone)
		_ = b.exec.Run(ctx)
	}()
	var work sync.WaitGroup
	stopped := func() {
		cancel()
		<-execDone
		work.Wait()
	}
	for {
		err := b.discover(ctx)
		if err == nil {
			break
		}
		b.log.Error().Err(err).Msg("cannot list the account's products; retrying in 30s")
		if !b.wait(ctx, 30*time.Second) {
			stopped()
			return nil
		}
	}
	for _, f := range b.families() {
		f.start(ctx)
	}
	b.publishInfo()
	if err := b.schedule(ctx); err != nil {
		stopped()
		return err
	}
	b.opts.Scheduler.Start()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case c := <-b.calls:
			work.Go(func() {
				defer close(c.done)
				b.guard("request", func() { c.fn(ctx) })
			})
		case delay := <-b.births:
			work.Go(func() {
				if b.wait(ctx, delay) {
					b.guard("ha_birth", b.republishAll)
				}
			})
		}
	}
	halt()
	// STYLE.md's shutdown order: stop the jobs, let commands in flight
	// finish (the executor's grace), then leave every device offline. The
	// waits share one bound so SIGTERM ends well within 5 s.
	deadline, cancelDeadline := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancelDeadline()
	jobs := b.opts.Scheduler.Stop()
	select {
	case <-jobs.Done():
	case <-deadline.Done():
		b.log.Warn().Msg("polling jobs did not finish within 3s")
	}
	select {
	case <-execDone:
	case <-deadline.Done():
		b.log.Warn().Msg("a command did not finish within 3s of shutdown")
	}
	work.Wait()
	b.setAllAvailability("offline")
	if err := b.opts.Budget.Save(); err != nil {
		b.log.Warn().Err(err).Msg("cannot save the budget counters")
	}
	return nil
}

// call is work an MQTT handler hands to Run (within).
type call struct {
	fn   func(ctx context.Context)
	done chan struct{}
}

// within runs fn on Run's context and returns when it is done; false when
// Run is shutting down (or does first) and fn did not run. MQTT handlers
// and jobs registered outside Run have no context of their own: a get or
// refresh request reads the account on the bridge's, so that shutdown
// cancels the reads.
func (b *Bridge) within(fn func(ctx context.Context)) bool {
	c := call{fn: fn, done: make(chan struct{})}
	select {
	case b.calls <- c:
	case <-b.halted:
		return false
	}
	<-c.done
	return true
}

// job is one polling job of the schedule.
type job struct {
	name, spec string
	run        func()
	// paid jobs are stretched near the budget; api jobs pause on EXCEEDED_LIMIT.
	paid, api bool
}

// schedule registers the polling jobs: each kind's, then the bridge's own.
// The reads that cost money are paced by the budget's stretch and stop
// during an EXCEEDED_LIMIT pause.
func (b *Bridge) schedule(ctx context.Context) error {
	var jobs []job
	for _, f := range b.families() {
		jobs = append(jobs, f.jobs(ctx)...)
	}
	s := b.opts.Schedule
	jobs = append(jobs,
		job{"products", s.Products, func() { _ = b.discover(ctx) }, false, true},
		job{"full_republish", s.FullRepublish, func() { b.publishInfo(); b.republishState() }, false, false})
	var errs []error
	for _, j := range jobs {
		if j.spec == "" {
			continue
		}
		run := func() {
			if j.api && b.pollingPaused(b.now()) {
				return
			}
			if j.paid && !b.stretchTurn(j.name) {
				return
			}
			j.run()
		}
		if err := b.opts.Scheduler.Add(j.name, j.spec, func() { b.guard(j.name, run) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stretchTurn counts a job's turns and reports whether this one runs: all
// of them at stretch 1, every 2nd at stretch 2, and so on.
func (b *Bridge) stretchTurn(name string) bool {
	k := b.opts.Budget.Stretch()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.ticks[name]
	b.ticks[name] = n + 1
	return n%k == 0
}

// wait waits d on the bridge's clock and reports false when ctx ended
// first. Unlike Clock.Sleep, a test clock does not move by itself here: a
// retry waits until the test advances time.
func (b *Bridge) wait(ctx context.Context, d time.Duration) bool {
	t := b.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// guard runs a job and turns a panic into a log line: one device's odd data
// must never take the bridge down.
func (b *Bridge) guard(name string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Str("job", name).Interface("panic", r).Msg("job panicked; recovered")
		}
	}()
	f()
}
