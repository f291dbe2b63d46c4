package device

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/readgate"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// The registry as the bridge drives it: built with its kinds, filled by
// discovery, read once at start, polled by its kinds' jobs, refreshed on
// request. It stands on every other file of the package.

// New returns an empty registry of the car and energy-site kinds; the
// first Discover fills it.
func New(opts Options, api FleetAPI, host Host) *Registry {
	opts.Clock = clock.OrReal(opts.Clock)
	r := &Registry{opts: opts, fleet: api, send: opts.Send, cmdr: opts.Commander, host: host, log: opts.Logger,
		mu: opts.Lock, devices: map[string]*Device{}, byUID: map[string]*Device{}, pool: newPool(opts.Concurrency, opts.Logger)}
	r.reads = &readgate.Gate{Gates: economy.NewGates(opts.Logger), Pauser: opts.Pauser, DeadEnds: opts.DeadEnds,
		Pool: r.pool, Host: host, Log: opts.Logger}
	r.families = []family{newCars(r), &sites{r: r}}
	return r
}

// Discover reads the products of the account, adds the devices it finds
// and removes those that left the account (removal.go).
func (r *Registry) Discover(ctx context.Context) error {
	if now := r.now(); r.reads.Blocked(now) {
		return fmt.Errorf("list products: %w", errAccountBlocked)
	}
	products, err := r.fleet.Products(ctx)
	r.reads.Outcome(err, r.now())
	if err != nil {
		return fmt.Errorf("list products: %w", err)
	}
	var added []*Device
	r.mu.Lock()
	removed := r.goneDevices(products)
	if r.opts.Owns != nil {
		clear(r.elsewhere) // a device that left the account is nobody's
	}
	for _, p := range products {
		for _, f := range r.families {
			uid, build := f.adopt(p)
			if uid == "" {
				continue
			}
			if r.opts.Owns != nil && !r.opts.Owns(uid) {
				// Another shard's: no reads, no state, no discovery here;
				// the name is kept so that its commands are left to it.
				if r.elsewhere == nil {
					r.elsewhere = map[string]bool{}
				}
				r.elsewhere[build().name] = true
				break
			}
			if _, ok := r.byUID[uid]; !ok {
				d := build()
				r.recallLocked(d)
				r.bind(d)
				r.register(d)
				added = append(added, d)
			}
			break
		}
	}
	later := r.discovered
	r.discovered = true
	r.mu.Unlock()
	for _, d := range removed {
		r.host.Removed(d)
	}
	for _, d := range added {
		r.log.Info().Str("device", d.name).Str("id", d.uid).Msg("device added")
		if later {
			r.host.Appeared(d)
		}
	}
	// Read on the pool, published in order: a site before its
	// connectors, the same order at every start.
	r.pool.Round(ctx, added, func(ctx context.Context, d *Device) { d.k.prime(ctx) })
	for _, d := range added {
		r.host.Added(d)
	}
	if len(added) > 0 || len(removed) > 0 {
		r.host.Info()
	}
	return nil
}

// errAccountBlocked is a product list held back by the account's dead end.
var errAccountBlocked = errors.New("held back: the account's problem has not been fixed yet")

// RetryIn is how long the first product list waits after a failure: the
// dead end's back-off, else DeadEnd's exponential schedule by attempt.
func (r *Registry) RetryIn(attempt int) time.Duration {
	if de := r.opts.DeadEnds; de != nil {
		if p := de.Current(); p != nil {
			if d := p.RetryAt.Sub(r.now()); d > 0 {
				return d
			}
		}
	}
	return min(economy.DeadEndFirst<<min(attempt, 10), economy.DeadEndMax)
}

// Start reads every kind's devices once, after the first discovery.
func (r *Registry) Start(ctx context.Context) {
	for _, f := range r.families {
		f.start(ctx)
	}
}

// Jobs are every kind's polling jobs, closing over ctx (the bridge's
// running context).
func (r *Registry) Jobs(ctx context.Context) []Job {
	var jobs []Job
	for _, f := range r.families {
		jobs = append(jobs, f.jobs(ctx)...)
	}
	return jobs
}

// Refresh reads devices now, for a get or refresh request: the kinds'
// shared reads first (one connectivity check for all cars), then each
// device.
func (r *Registry) Refresh(ctx context.Context, due []*Device) {
	rf := &refreshing{due: due}
	for _, f := range r.families {
		f.prepareRefresh(ctx, rf)
	}
	r.pool.Round(ctx, due, func(ctx context.Context, d *Device) { d.k.refresh(ctx, rf) })
}

// Wait returns when the pool's workers have ended: after the jobs have
// stopped, nothing the registry started is still running.
func (r *Registry) Wait() { r.pool.Wait() }
