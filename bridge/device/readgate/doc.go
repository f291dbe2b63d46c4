// Package readgate decides whether a device read may run now and records
// its outcome, so a paused account, a 429, a dead end or a failing
// endpoint costs no further request.
package readgate
