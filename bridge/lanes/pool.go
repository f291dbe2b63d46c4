package lanes

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Polling rounds on a bounded pool. A round used to read its devices one
// after another, so it took (devices) × (API latency): 35 s for 700 reads
// at 50 ms. The pool reads them on a few workers instead, while keeping
// what the serial loop gave for free:
//
//   - Each device has one lane. A device is never read twice at once, and
//     a command's send and confirming read (Hold) never run beside a poll:
//     a round's task for a device whose lane is busy is parked on the lane,
//     without taking a worker, and runs when the lane is free.
//   - The pool only sets the pace. Which devices are due is decided before
//     the round (the policy, the budget's stretch); a read still asks its
//     gates when its turn comes, so a pause or a 429 that starts mid-round
//     turns the rest of the round into no requests.
//   - A 429 waits on the device's gate; 429s for two devices in a row
//     pause the host (RateLimited): Tesla calls a 429 faulty logic, and a
//     queue of hundreds of reads would otherwise earn one each.
//
// Workers are started on demand, exit when the queue is empty, and are
// owned by the pool: Wait returns when the last has ended. A task must
// never start a round itself (a round waits for workers it might hold).

// Pool is the bounded set of workers that reads devices (T) on the Fleet
// API host. Its fields are guarded by mu, a lock of its own, so waiting
// for the pool never holds its user's.
type Pool[T comparable] struct {
	size    int
	log     zerolog.Logger
	owner   func(T) T
	name    func(T) string
	workers sync.WaitGroup

	mu      sync.Mutex
	queue   []*task[T]
	running int
	lanes   map[T]*lane[T]
	// pausedUntil is the host's 429 pause; last429Device and last429At
	// are the last 429's device and time (RateLimited).
	pausedUntil   time.Time
	last429Device string
	last429At     time.Time
}

// task is one device's read in a round.
type task[T comparable] struct {
	d    T
	run  func(ctx context.Context)
	ctx  context.Context
	done func()
}

// lane serialises one device's reads and commands.
type lane[T comparable] struct {
	busy bool
	// parked are round tasks that found the lane busy; waiters are Holds.
	parked  []*task[T]
	waiters []chan struct{}
}

// New returns a pool of size workers (at least one). owner maps a device
// to the one whose lane it uses (itself, or the device it is read
// through); name is a device's name in the log.
func New[T comparable](size int, l zerolog.Logger, owner func(T) T, name func(T) string) *Pool[T] {
	return &Pool[T]{size: max(size, 1), log: l, owner: owner, name: name, lanes: map[T]*lane[T]{}}
}

// laneOf is d's lane: a device that belongs to another (a Wall Connector
// is read through its site) shares its owner's. Callers hold p.mu.
func (p *Pool[T]) laneOf(d T) *lane[T] {
	d = p.owner(d)
	l := p.lanes[d]
	if l == nil {
		l = &lane[T]{}
		p.lanes[d] = l
	}
	return l
}

// Round runs fn for every device on the pool and returns when all have
// run (or were given up because ctx ended). Devices are taken in order.
func (p *Pool[T]) Round(ctx context.Context, ds []T, fn func(ctx context.Context, d T)) {
	if len(ds) == 0 {
		return
	}
	var wg sync.WaitGroup
	wg.Add(len(ds))
	p.mu.Lock()
	for _, d := range ds {
		p.queue = append(p.queue, &task[T]{d: d, ctx: ctx, run: func(ctx context.Context) { fn(ctx, d) }, done: wg.Done})
	}
	p.spawnLocked()
	p.mu.Unlock()
	wg.Wait()
}

// spawnLocked starts workers up to the pool's size while tasks wait.
// Callers hold p.mu.
func (p *Pool[T]) spawnLocked() {
	for p.running < p.size && p.running < len(p.queue) {
		p.running++
		p.workers.Go(p.work)
	}
}

// work takes tasks until the queue is empty.
func (p *Pool[T]) work() {
	for {
		p.mu.Lock()
		t := p.nextLocked()
		if t == nil {
			p.running--
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.runTask(t)
	}
}

// nextLocked pops the first task whose lane is free and takes its lane;
// tasks whose lane is busy are parked on it. Callers hold p.mu.
func (p *Pool[T]) nextLocked() *task[T] {
	for len(p.queue) > 0 {
		t := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		l := p.laneOf(t.d)
		if l.busy {
			l.parked = append(l.parked, t)
			continue
		}
		l.busy = true
		return t
	}
	p.queue = nil
	return nil
}

// runTask runs one task on its lane, then frees the lane. A panic is
// logged: one device's odd data must not stop the round, and the lane and
// the round are released whatever happens.
func (p *Pool[T]) runTask(t *task[T]) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error().Str("device", p.name(t.d)).Interface("panic", r).Msg("read panicked; recovered")
		}
		p.release(t.d)
		t.done()
	}()
	if t.ctx.Err() == nil {
		t.run(t.ctx)
	}
}

// release frees d's lane: a waiting Hold gets it first (a command waits
// for at most one read), else a parked task goes back to the front of the
// queue.
func (p *Pool[T]) release(d T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.laneOf(d)
	if len(l.waiters) > 0 {
		w := l.waiters[0]
		l.waiters = l.waiters[1:]
		close(w) // the lane passes to the waiter, still busy
		return
	}
	l.busy = false
	if len(l.parked) > 0 {
		t := l.parked[0]
		l.parked = l.parked[1:]
		p.queue = append([]*task[T]{t}, p.queue...)
		p.spawnLocked()
	}
	if !l.busy && len(l.parked) == 0 && len(l.waiters) == 0 {
		delete(p.lanes, p.owner(d))
	}
}

// Hold takes d's lane for work outside a round (a command's send, its
// confirming read, a get request's read), waiting while a read holds it.
// It returns the release, or false when ctx ended first.
func (p *Pool[T]) Hold(ctx context.Context, d T) (func(), bool) {
	p.mu.Lock()
	l := p.laneOf(d)
	if !l.busy {
		l.busy = true
		p.mu.Unlock()
		return sync.OnceFunc(func() { p.release(d) }), true
	}
	w := make(chan struct{})
	l.waiters = append(l.waiters, w)
	p.mu.Unlock()
	select {
	case <-w:
		return sync.OnceFunc(func() { p.release(d) }), true
	case <-ctx.Done():
		p.mu.Lock()
		for i, x := range l.waiters {
			if x == w {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				p.mu.Unlock()
				return nil, false
			}
		}
		p.mu.Unlock()
		// The lane was handed over just as ctx ended: pass it on.
		p.release(d)
		return nil, false
	}
}

// RateLimited notes a 429 for device and reports whether it paused the
// host. Tesla's limits are per device (FLEET_API.md §6.2), so one car's
// 429 waits on that car's gate alone; a 429 for a second device within
// a minute of the first says the limit is wider than one device, and the
// host's reads wait out the Retry-After.
func (p *Pool[T]) RateLimited(device string, now time.Time, wait time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	wide := p.last429Device != "" && p.last429Device != device && now.Sub(p.last429At) < time.Minute
	p.last429Device, p.last429At = device, now
	if !wide {
		return false
	}
	if until := now.Add(wait); until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
	return true
}

// HostPaused reports whether a 429 pause of the host is running.
func (p *Pool[T]) HostPaused(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Before(p.pausedUntil)
}

// Running is the number of workers running now.
func (p *Pool[T]) Running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// Wait returns when every worker has ended.
func (p *Pool[T]) Wait() { p.workers.Wait() }
