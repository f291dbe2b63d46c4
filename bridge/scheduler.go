package bridge

import (
	"context"
	"fmt"
	"sync"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// Scheduler runs named jobs on cron specs. The bridge never calls time
// functions to decide when to poll: production uses cron, tests use a
// ManualScheduler and fire jobs themselves, so no test sleeps.
type Scheduler interface {
	// Add registers a job under a name with a cron spec.
	Add(name, spec string, job func()) error
	// Start starts running jobs.
	Start()
	// Stop stops scheduling; the returned context is done when running jobs finished.
	Stop() context.Context
}

// CronScheduler is the production Scheduler on robfig/cron: a panicking job
// is recovered and logged, and a job still running when its next turn comes
// is skipped rather than stacked.
type CronScheduler struct {
	c *cron.Cron
}

// NewCronScheduler returns a Scheduler logging through l.
func NewCronScheduler(l zerolog.Logger) *CronScheduler {
	cl := cronLogger{l}
	return &CronScheduler{c: cron.New(
		cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)),
		cron.WithLogger(cl),
	)}
}

// Add implements Scheduler.
func (s *CronScheduler) Add(name, spec string, job func()) error {
	if _, err := s.c.AddFunc(spec, job); err != nil {
		return fmt.Errorf("schedule %s %q: %w", name, spec, err)
	}
	return nil
}

// Start implements Scheduler.
func (s *CronScheduler) Start() { s.c.Start() }

// Stop implements Scheduler.
func (s *CronScheduler) Stop() context.Context { return s.c.Stop() }

// cronLogger adapts zerolog to cron.Logger; cron's info lines go to debug.
type cronLogger struct{ l zerolog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	c.l.Debug().Fields(kv).Msg("cron: " + msg)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}

// ManualScheduler runs jobs only when a test fires them.
type ManualScheduler struct {
	mu      sync.Mutex
	jobs    map[string][]func()
	specs   map[string]string
	started chan struct{}
	once    sync.Once
}

// NewManualScheduler returns an empty ManualScheduler.
func NewManualScheduler() *ManualScheduler {
	return &ManualScheduler{jobs: map[string][]func(){}, specs: map[string]string{}, started: make(chan struct{})}
}

// Add implements Scheduler; the spec is still validated.
func (m *ManualScheduler) Add(name, spec string, job func()) error {
	if _, err := cron.ParseStandard(spec); err != nil {
		return fmt.Errorf("schedule %s %q: %w", name, spec, err)
	}
	m.mu.Lock()
	m.jobs[name] = append(m.jobs[name], job)
	m.specs[name] = spec
	m.mu.Unlock()
	return nil
}

// Start implements Scheduler.
func (m *ManualScheduler) Start() { m.once.Do(func() { close(m.started) }) }

// Started is closed when Start is called: for the bridge, once the first
// reads are published and every job is registered.
func (m *ManualScheduler) Started() <-chan struct{} { return m.started }

// Stop implements Scheduler; manual jobs run synchronously, so nothing is
// ever left running.
func (m *ManualScheduler) Stop() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Fire runs every job registered under name, synchronously.
func (m *ManualScheduler) Fire(name string) {
	m.mu.Lock()
	jobs := append([]func(){}, m.jobs[name]...)
	m.mu.Unlock()
	for _, j := range jobs {
		j()
	}
}

// Names returns the registered job names and their specs.
func (m *ManualScheduler) Names() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.specs))
	for k, v := range m.specs {
		out[k] = v
	}
	return out
}
