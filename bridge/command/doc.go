// Package command turns set messages into Fleet API commands and answers
// each with exactly one result: it parses the payload through the device's
// table row, queues the job on the device's own worker, admits it (allow
// and deny lists, the per-device rate limit, the token's scopes, the
// budget's hard cap), has the device send it, classifies the outcome into
// the closed set of result codes, and lets the device confirm it with one
// read. Which route a command takes (REST, signed, an energy site) is the
// device kind's choice, not this package's.
package command
