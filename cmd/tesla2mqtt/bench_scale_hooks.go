package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// benchScheduler runs the bridge's jobs on its real cron schedule, except
// while the bench holds it (a held turn is skipped, as a turn that finds
// its job still running is), and lets the bench fire jobs itself.
type benchScheduler struct {
	inner   *schedule.Cron
	held    atomic.Bool
	started chan struct{}
	// turns hears the name of each job cron runs while not held.
	turns chan string

	mu   sync.Mutex
	jobs map[string]func()
}

func newBenchScheduler(log zerolog.Logger) *benchScheduler {
	return &benchScheduler{inner: schedule.NewCron(clock.Real(), time.UTC, log),
		started: make(chan struct{}), turns: make(chan string, 64), jobs: map[string]func(){}}
}

// Add implements bridge.Scheduler.
func (s *benchScheduler) Add(name, spec string, job func()) error {
	s.mu.Lock()
	s.jobs[name] = job
	s.mu.Unlock()
	return s.inner.Add(name, spec, func() {
		if s.held.Load() {
			return
		}
		select {
		case s.turns <- name:
		default:
		}
		job()
	})
}

// Start implements bridge.Scheduler. The bridge starts its jobs once its
// first reads are published, so this is also the end of start-up.
func (s *benchScheduler) Start() {
	s.inner.Start()
	close(s.started)
}

// Stop implements bridge.Scheduler.
func (s *benchScheduler) Stop() context.Context { return s.inner.Stop() }

// fire runs the named jobs at once, each on its own goroutine as cron
// would when their turns coincide, and returns when all have returned.
func (s *benchScheduler) fire(names []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, n := range names {
		s.mu.Lock()
		job := s.jobs[n]
		s.mu.Unlock()
		if job == nil {
			continue
		}
		wg.Go(func() { errs[i] = runGuarded("bench: job "+n, job) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// servedReads notes, per car or site, when the simulator last answered its
// vehicle_data or live_status: the one view of a polling round that does
// not depend on the bridge publishing what it read.
type servedReads struct {
	wall clock.Clock
	mu   sync.Mutex
	at   map[string]time.Time
}

func (s *servedReads) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.ServeHTTP(w, req)
		parts := strings.Split(req.URL.Path, "/")
		// /api/1/vehicles/{vin}/vehicle_data, /api/1/energy_sites/{id}/live_status
		if len(parts) == 6 && (parts[5] == "vehicle_data" || parts[5] == "live_status") {
			now := s.wall.Now()
			s.mu.Lock()
			s.at[parts[4]] = now
			s.mu.Unlock()
		}
	})
}

// since returns how many of names were read at or after t, and the last
// such read.
func (s *servedReads) since(names []string, t time.Time) (n int, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		if at := s.at[name]; !at.Before(t) {
			n++
			if at.After(last) {
				last = at
			}
		}
	}
	return n, last
}
