// Package schedule runs named jobs on cron specs over the injected clock, so
// that the bridge never decides by itself when to poll and no test sleeps:
// Cron for the daemon and the bench (with daylight-saving corrections and a
// stepped mode), Manual for tests that fire jobs themselves.
package schedule
