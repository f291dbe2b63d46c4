package schedule

import (
	"context"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Cron runs jobs on robfig/cron specs over a clock.Clock. It uses
// cron's parser and Next, but not cron's runner, which reads the wall clock
// itself; on the injected clock a test can run a whole DST night.
//
// A panicking job is recovered and logged, and a job still running when its
// next turn comes is skipped rather than stacked. Turns missed while the
// clock jumped run once, late.
//
// Daylight saving time: robfig/cron evaluates specs in local wall-clock
// time. Interval specs ("@every 1m", "*/5 * * * *") come out right: on the
// fall-back night the repeated hour is polled like any other, on the
// spring-forward night the skipped hour simply does not exist. Specs for a
// time of day (one minute, chosen hours: "30 2 * * *") do not: cron runs
// them twice on the fall-back night (02:30 summer time, then 02:30 winter
// time) and not at all on the spring-forward night when the time falls in
// the skipped hour. Cron corrects both: a time-of-day job runs once
// per local wall-clock time, and a time that does not exist runs at the
// moment the clocks jump forward.
type Cron struct {
	clock  clock.Clock
	loc    *time.Location
	log    zerolog.Logger
	parser cron.Parser

	mu      sync.Mutex
	jobs    []*cronJob
	cancel  context.CancelFunc
	loop    chan struct{} // closed when the timing loop ends
	running sync.WaitGroup
	started chan struct{}
	// stepped: no timing loop; the caller steps the jobs with RunDue.
	stepped bool
}

type cronJob struct {
	name      string
	sched     cron.Schedule
	timeOfDay bool
	run       func()
	next      time.Time
	last      time.Time // when it last ran (the planned time)
	busy      bool      // guarded by Cron.mu
	// started is when the running turn began; skipped counts the turns
	// skipped because the last was still running. Guarded by Cron.mu.
	started time.Time
	skipped int
}

// NewCron returns a Scheduler on c that evaluates cron specs in loc
// (nil: the process's local time zone, i.e. TZ); a spec may name its own
// zone with a CRON_TZ= or TZ= prefix.
func NewCron(c clock.Clock, loc *time.Location, l zerolog.Logger) *Cron {
	if loc == nil {
		loc = time.Local
	}
	return &Cron{
		clock:   clock.OrReal(c),
		loc:     loc,
		log:     l,
		parser:  cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor),
		started: make(chan struct{}),
	}
}

// Stepped turns the timing loop off before Start: the caller runs the due
// jobs itself with RunDue, synchronously, as the bench does while it steps
// a simulated day.
func (s *Cron) Stepped() *Cron {
	s.mu.Lock()
	s.stepped = true
	s.mu.Unlock()
	return s
}

// Add implements Scheduler.
func (s *Cron) Add(name, spec string, job func()) error {
	sch, err := s.parser.Parse(spec)
	if err != nil {
		return fmt.Errorf("schedule %s %q: %w", name, spec, err)
	}
	j := &cronJob{name: name, sched: sch, run: job}
	if ss, ok := sch.(*cron.SpecSchedule); ok {
		if ss.Location == time.Local {
			ss.Location = s.loc
		}
		j.timeOfDay = timeOfDay(ss)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		j.next = s.nextAfter(j, s.clock.Now())
	}
	s.jobs = append(s.jobs, j)
	return nil
}

// Start implements Scheduler: it plans every job from now and starts the
// timing loop. A second Start does nothing.
func (s *Cron) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	now := s.clock.Now()
	for _, j := range s.jobs {
		j.next = s.nextAfter(j, now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.loop = make(chan struct{})
	if s.stepped {
		close(s.loop)
	} else {
		go s.timing(ctx)
	}
	close(s.started)
}

// Started is closed by Start: for the bridge, once the first reads are
// published and every job is registered.
func (s *Cron) Started() <-chan struct{} { return s.started }

// Stop implements Scheduler.
func (s *Cron) Stop() context.Context {
	s.mu.Lock()
	cancel, loop := s.cancel, s.loop
	s.mu.Unlock()
	ctx, done := context.WithCancel(context.Background())
	go func() {
		if cancel != nil {
			cancel()
			<-loop
		}
		s.running.Wait()
		done()
	}()
	return ctx
}

// RunDue runs, synchronously and in registration order, every job whose
// time has come by now. The bench replays a day with it on a Stepped
// scheduler, stepping a manual clock.
func (s *Cron) RunDue(now time.Time) {
	for _, j := range s.due(now) {
		s.runJob(j)
	}
}

// timing waits for the earliest job on the clock and starts the due ones.
func (s *Cron) timing(ctx context.Context) {
	defer close(s.loop)
	for {
		next, ok := s.earliest()
		if !ok {
			<-ctx.Done()
			return
		}
		t := s.clock.NewTimer(next.Sub(s.clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		for _, j := range s.due(s.clock.Now()) {
			s.running.Add(1)
			go func() {
				defer s.running.Done()
				s.runJob(j)
			}()
		}
	}
}

// earliest returns the first planned time of any job.
func (s *Cron) earliest() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, j := range s.jobs {
		if !j.next.IsZero() && (first.IsZero() || j.next.Before(first)) {
			first = j.next
		}
	}
	return first, !first.IsZero()
}

// due marks the jobs whose time has come as busy, plans their next turn and
// returns them; a job still busy from its last turn skips this one.
func (s *Cron) due(now time.Time) []*cronJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*cronJob
	for _, j := range s.jobs {
		if j.next.IsZero() || j.next.After(now) {
			continue
		}
		planned := j.next
		j.last = planned
		j.next = s.nextAfter(j, now)
		if j.busy {
			// Not silent: a round that outlasts its interval means the
			// pool is too small for the fleet, or Tesla is slow.
			j.skipped++
			s.log.Info().Str("job", j.name).Dur("running_for", now.Sub(j.started)).Int("skipped", j.skipped).
				Msg("schedule: the last turn is still running; this one is skipped")
			continue
		}
		j.busy = true
		j.started = now
		out = append(out, j)
	}
	return out
}

// runJob runs one turn of j, recovering a panic.
func (s *Cron) runJob(j *cronJob) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error().Str("job", j.name).Interface("panic", r).Msg("schedule: job panicked; recovered")
		}
		s.mu.Lock()
		j.busy = false
		s.mu.Unlock()
	}()
	j.run()
}

// nextAfter is the job's next turn after from, with the DST corrections
// described on Cron.
func (s *Cron) nextAfter(j *cronJob, from time.Time) time.Time {
	n := j.sched.Next(from)
	ss, ok := j.sched.(*cron.SpecSchedule)
	if !ok || n.IsZero() {
		return n
	}
	if jump, ok := skippedTurn(ss, from, n); ok {
		n = jump
	}
	// Never twice at one instant, and a time-of-day job never twice at one
	// local wall-clock time (the repeated hour of the fall-back night).
	for i := 0; i < 8 && !n.IsZero() && (!n.After(j.last) ||
		(j.timeOfDay && !j.last.IsZero() && wallTime(n, ss.Location) == wallTime(j.last, ss.Location))); i++ {
		n = j.sched.Next(n)
	}
	return n
}

// timeOfDay reports whether a spec names a time of day (one minute of
// chosen hours) rather than an interval.
func timeOfDay(ss *cron.SpecSchedule) bool {
	const star = 1 << 63
	return bits.OnesCount64(ss.Minute&^star) == 1 && bits.OnesCount64(ss.Hour&^star) < 24
}

// wallTime is t as read on a wall clock in loc, to the minute.
func wallTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04")
}

// skippedTurn finds a turn that fell into a spring-forward gap between from
// and n (cron skips it) and returns the instant the clocks jumped, when the
// job should run instead.
func skippedTurn(ss *cron.SpecSchedule, from, n time.Time) (time.Time, bool) {
	loc := ss.Location
	for lo := from; lo.Before(n); lo = lo.Add(24 * time.Hour) {
		hi := lo.Add(24 * time.Hour)
		if hi.After(n) {
			hi = n
		}
		_, offLo := lo.In(loc).Zone()
		_, offHi := hi.In(loc).Zone()
		if offHi <= offLo {
			continue
		}
		// Binary search for the jump, to the second.
		a, b := lo, hi
		for b.Sub(a) > time.Second {
			mid := a.Add(b.Sub(a) / 2)
			if _, off := mid.In(loc).Zone(); off == offLo {
				a = mid
			} else {
				b = mid
			}
		}
		jump := b.Truncate(time.Second)
		// The skipped wall-clock readings, [before the jump in the old
		// offset, that plus the jump), checked against the spec in a zone
		// without DST.
		gapStart := wallAsUTC(jump.Add(-time.Nanosecond).In(time.FixedZone("", offLo))).Truncate(time.Minute).Add(time.Minute)
		gapEnd := gapStart.Add(time.Duration(offHi-offLo) * time.Second)
		utc := *ss
		utc.Location = time.UTC
		if m := utc.Next(gapStart.Add(-time.Second)); !m.IsZero() && m.Before(gapEnd) && jump.After(from) {
			return jump, true
		}
	}
	return time.Time{}, false
}

// wallAsUTC returns the same wall-clock reading as t, in UTC.
func wallAsUTC(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
