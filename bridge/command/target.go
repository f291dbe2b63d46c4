package command

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Options configure an Executor.
type Options struct {
	// Allow, if not empty, lists the only command groups that may run; Deny
	// lists groups that never run.
	Allow, Deny []string
	// RateLimitPerMinute caps commands per device per minute.
	RateLimitPerMinute int
	// WakeTimeout is how long a car may take to wake (for the
	// vehicle_asleep message; the Waker enforces it).
	WakeTimeout time.Duration
	// MaxAge is how long after arriving a command may still start
	// (0: no bound); GroupMaxAge overrides it per command group.
	MaxAge      time.Duration
	GroupMaxAge map[string]time.Duration
	// Domain is the app's domain, for the pairing link of key_not_paired
	// and signing_required results.
	Domain string
	// ClientID is the app's client id, for the consent link of
	// missing_scope results.
	ClientID string
	// Granted returns the token's scopes as a set, nil when unknown (then
	// every command may run).
	Granted func() map[string]bool
	Clock   clock.Clock
	Logger  zerolog.Logger
}

// Target is one device as the executor sees it; the bridge's devices
// implement it.
type Target interface {
	// Name is the device's topic segment; UID its VIN or site id.
	Name() string
	UID() string
	// Send runs cmd on the device. The device's kind picks the route and
	// wakes a car that sleeps; woke says whether it had to.
	Send(ctx context.Context, cmd fleet.Command) (res *fleet.CommandResult, woke bool, err error)
	// Publish publishes one result on the device's result topic.
	Publish(r Result)
	// Settle runs after a command's result is published: the one confirming
	// read when confirm is set, then whatever waits for the device to be
	// ready for its next command. The next command waits for it.
	Settle(ctx context.Context, r Result, confirm bool)
}
