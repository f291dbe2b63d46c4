package schedule

import (
	"context"
)

// Scheduler runs named jobs on cron specs. The bridge never decides by
// itself when to poll: production uses a Cron on the wall clock,
// tests a Cron on a manual clock or a Manual whose jobs
// they fire themselves, so no test sleeps.
type Scheduler interface {
	// Add registers a job under a name with a cron spec.
	Add(name, spec string, job func()) error
	// Start starts running jobs.
	Start()
	// Stop stops scheduling; the returned context is done when running jobs finished.
	Stop() context.Context
}

// Both schedulers serve the bridge.
var (
	_ Scheduler = (*Cron)(nil)
	_ Scheduler = (*Manual)(nil)
)
