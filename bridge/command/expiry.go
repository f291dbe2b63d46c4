package command

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// A command is meant for the moment it was sent: an unlock that runs
// minutes later, after a long wake or a stalled network, is worse than
// none. So every job carries the time it arrived, and it must start (the
// command leave for the car) within its group's maximum age, or sooner
// when the sender set its own deadline; otherwise it answers expired and
// nothing is sent.

// Limits on what one set message may ask, so that one message cannot
// hold a device's queue or the logs: MaxKeys keys per set object, keys of
// at most MaxKeyLen bytes, payloads of at most MaxPayload bytes.
const (
	MaxKeys    = 32
	MaxKeyLen  = 64
	MaxPayload = 16 << 10
)

// The reserved keys of a set object (and of the JSON form of set/<key>)
// that state the sender's own deadline: an RFC 3339 time, or seconds from
// arrival.
const (
	keyExpiresAt = "expires_at"
	keyTTL       = "ttl"
	// maxTTL is the longest ttl accepted; no deadline may be later than
	// the group's maximum age anyway.
	maxTTL = 24 * time.Hour
)

// ErrExpired is a command that could not start before its deadline.
var ErrExpired = errors.New("the command could not start before its deadline")

// Expiry is the sender's own deadline for a message: At (expires_at), TTL
// (ttl, counted from arrival), either, or none. The earliest of them and
// the group's maximum age wins: a sender can shorten the bridge's limit,
// never lengthen it.
type Expiry struct {
	At  time.Time
	TTL time.Duration
}

// set reads the reserved key name with the JSON value v.
func (e *Expiry) set(name string, v any) *entity.PayloadError {
	switch name {
	case keyExpiresAt:
		s, ok := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if !ok || err != nil {
			return invalid(`expires_at must be an RFC 3339 time such as "2030-06-15T12:00:00Z"`)
		}
		e.At = t
	case keyTTL:
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || f <= 0 || f > maxTTL.Seconds() {
			return invalid("ttl must be a number of seconds above 0 and at most %d", int(maxTTL.Seconds()))
		}
		e.TTL = time.Duration(f * float64(time.Second))
	}
	return nil
}

// checkSize refuses a payload or a key (from the topic) over the limits
// before anything parses them.
func checkSize(payload []byte, key string) *entity.PayloadError {
	if len(payload) > MaxPayload {
		return invalid("the payload has %d bytes; at most %d are accepted", len(payload), MaxPayload)
	}
	if len(key) > MaxKeyLen {
		return invalid("key %s is longer than %d bytes", ShortKey(key), MaxKeyLen)
	}
	return nil
}

// ShortKey is key fit for a result or a log line: quoted, and cut to
// MaxKeyLen bytes (on a character boundary) with "…" when longer.
func ShortKey(key string) string {
	if len(key) <= MaxKeyLen {
		return fmt.Sprintf("%q", key)
	}
	cut := key[:MaxKeyLen]
	for !utf8.ValidString(cut) && len(cut) > 0 {
		cut = cut[:len(cut)-1]
	}
	return fmt.Sprintf("%q…", cut)
}

// deadline is when j must have started at the latest: its arrival plus
// its group's maximum age, or the sender's earlier deadline. Zero means
// no bound (an executor built without MaxAge).
func (e *Executor) deadline(j Job) time.Time {
	age := e.opts.MaxAge
	if a, ok := e.opts.GroupMaxAge[j.Group]; ok {
		age = a
	}
	var d time.Time
	if age > 0 {
		d = j.Arrived.Add(age)
	}
	for _, own := range []time.Time{j.Expiry.At, arrivedPlus(j.Arrived, j.Expiry.TTL)} {
		if !own.IsZero() && (d.IsZero() || own.Before(d)) {
			d = own
		}
	}
	return d
}

func arrivedPlus(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return t.Add(d)
}

// expired is the result error of a job past its deadline, nil while it
// may still start.
func (e *Executor) expired(j Job, now time.Time) *ResultError {
	d := e.deadline(j)
	if d.IsZero() || now.Before(d) {
		return nil
	}
	return expiredError(j, d)
}

func expiredError(j Job, d time.Time) *ResultError {
	return &ResultError{Code: CodeExpired,
		Message: fmt.Sprintf("the command arrived at %s and could not start by %s; it was not sent",
			j.Arrived.UTC().Format(time.RFC3339), d.UTC().Format(time.RFC3339)),
		Remedy: "send it again if it is still wanted; [commands] max_age sets how long a command may wait (a sleeping car's wake counts)"}
}

// startBy is the deadline a job's context carries to the device that
// sends it (StartCheck) and to the Waker.
type startBy struct {
	at  time.Time
	clk clock.Clock
}

type startByKey struct{}

// withDeadline makes ctx carry the time the command must have started by.
func withDeadline(ctx context.Context, at time.Time, clk clock.Clock) context.Context {
	if at.IsZero() {
		return ctx
	}
	return context.WithValue(ctx, startByKey{}, startBy{at, clk})
}

// deadlineOf is ctx's start deadline, if it has one.
func deadlineOf(ctx context.Context) (startBy, bool) {
	sb, ok := ctx.Value(startByKey{}).(startBy)
	return sb, ok
}

// StartCheck returns ErrExpired once the command that ctx carries can no
// longer start; a device calls it right before the command leaves, after
// whatever it waited for (a wake). Without a deadline it returns nil.
func StartCheck(ctx context.Context) error {
	sb, ok := deadlineOf(ctx)
	if !ok || sb.clk.Now().Before(sb.at) {
		return nil
	}
	return ErrExpired
}
