package schedule

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/robfig/cron/v3"
)

// Manual runs jobs only when a test fires them.
type Manual struct {
	mu      sync.Mutex
	jobs    map[string][]func()
	specs   map[string]string
	started chan struct{}
	once    sync.Once
}

// NewManual returns an empty Manual.
func NewManual() *Manual {
	return &Manual{jobs: map[string][]func(){}, specs: map[string]string{}, started: make(chan struct{})}
}

// Add implements Scheduler; the spec is still validated.
func (m *Manual) Add(name, spec string, job func()) error {
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
func (m *Manual) Start() { m.once.Do(func() { close(m.started) }) }

// Started is closed when Start is called: for the bridge, once the first
// reads are published and every job is registered.
func (m *Manual) Started() <-chan struct{} { return m.started }

// Stop implements Scheduler; manual jobs run synchronously, so nothing is
// ever left running.
func (m *Manual) Stop() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Fire runs every job registered under name, synchronously.
func (m *Manual) Fire(name string) {
	m.mu.Lock()
	jobs := append([]func(){}, m.jobs[name]...)
	m.mu.Unlock()
	for _, j := range jobs {
		j()
	}
}

// Names returns the registered job names and their specs.
func (m *Manual) Names() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.specs)
}
