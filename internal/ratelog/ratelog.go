// Package ratelog keeps one kind of warning from flooding the log. A
// hostile or broken client can cause the same warning thousands of times a
// second (a rejected message, a refused login); logging each one fills the
// disk (68 MB of warnings in 30 minutes was measured) and hides everything
// else. A Limiter lets the first event of a key through, then at most one
// per interval, and the next line it lets through says how many it held
// back in between. It depends on zerolog and the project clock only, so
// every package may use it.
package ratelog

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// DefaultMaxKeys bounds the keys a Limiter tracks when Options.MaxKeys is 0.
const DefaultMaxKeys = 1024

// OverflowKey is where events of new keys are counted once MaxKeys keys are
// busy, so attacker-chosen keys (addresses, topics) cannot grow memory.
const OverflowKey = "(other)"

// SuppressedField is the field that carries the number of held-back events.
const SuppressedField = "suppressed"

// Options configure a Limiter.
type Options struct {
	// Every is the least time between two events of one key (default 1 min).
	Every time.Duration
	// MaxKeys bounds the tracked keys (default DefaultMaxKeys).
	MaxKeys int
	// Clock tells the time (default: the wall clock).
	Clock clock.Clock
}

// Limiter decides per key whether an event may be logged now. It is safe
// for concurrent use; the zero value is not usable, call New.
type Limiter struct {
	opts Options
	mu   sync.Mutex
	keys map[string]*keyState
	// nextPrune spaces the scans of a full table, which would otherwise
	// cost O(MaxKeys) on every event of a new key.
	nextPrune time.Time
}

type keyState struct {
	next       time.Time // no event before this
	suppressed int       // events held back since the last one let through
}

// New returns a Limiter with opts' zero fields set to their defaults.
func New(opts Options) *Limiter {
	if opts.Every <= 0 {
		opts.Every = time.Minute
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	opts.MaxKeys = max(opts.MaxKeys, 2) // one key and the overflow key
	opts.Clock = clock.OrReal(opts.Clock)
	return &Limiter{opts: opts, keys: map[string]*keyState{}}
}

// Allow reports whether an event of key may be logged now and, when it
// may, how many events of key were held back since the last one allowed.
func (l *Limiter) Allow(key string) (ok bool, suppressed int) {
	now := l.opts.Clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.keys[key]
	if st == nil {
		// One slot stays free for the overflow key.
		if len(l.keys) >= l.opts.MaxKeys-1 && !now.Before(l.nextPrune) {
			l.prune(now)
			l.nextPrune = now.Add(l.opts.Every)
		}
		if len(l.keys) >= l.opts.MaxKeys-1 {
			key = OverflowKey
			st = l.keys[key]
		}
		if st == nil {
			st = &keyState{}
			l.keys[key] = st
		}
	}
	if now.Before(st.next) {
		st.suppressed++
		return false, 0
	}
	suppressed, st.suppressed = st.suppressed, 0
	st.next = now.Add(l.opts.Every)
	return true, suppressed
}

// prune forgets keys whose interval is over and that hold nothing back:
// forgetting them loses no count. The caller holds mu.
func (l *Limiter) prune(now time.Time) {
	for k, st := range l.keys {
		if st.suppressed == 0 && !now.Before(st.next) {
			delete(l.keys, k)
		}
	}
}

// Event returns an event at level on log when key may be logged now, with
// SuppressedField set when events were held back since; otherwise nil.
// zerolog's methods on a nil *Event do nothing, so a call site reads like
// an ordinary log line:
//
//	lim.Event(log, zerolog.WarnLevel, "login:"+addr).Str("user", u).Msg("login refused")
func (l *Limiter) Event(log *zerolog.Logger, level zerolog.Level, key string) *zerolog.Event {
	if log.GetLevel() > level {
		return nil // a filtered level must not use up the key's slot
	}
	ok, n := l.Allow(key)
	if !ok {
		return nil
	}
	e := log.WithLevel(level)
	if n > 0 {
		e = e.Int(SuppressedField, n)
	}
	return e
}

// Warn is Event at warn level.
func (l *Limiter) Warn(log *zerolog.Logger, key string) *zerolog.Event {
	return l.Event(log, zerolog.WarnLevel, key)
}
