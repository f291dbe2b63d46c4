// Package lanes runs rounds of work on a bounded pool of workers with one
// lane per key, so that no two pieces of work for the same key ever run
// at once.
package lanes
