package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/ratelog"
)

// warnEvery is the least time between two warnings of one kind: a client
// that misbehaves a thousand times a second gets one line a minute, with
// the count of what was held back.
const warnEvery = time.Minute

// warner writes the broker's own rate-limited warnings.
type warner struct {
	log zerolog.Logger
	lim *ratelog.Limiter
}

func newWarner(log zerolog.Logger, c clock.Clock) *warner {
	return &warner{log: log, lim: ratelog.New(ratelog.Options{Every: warnEvery, Clock: c})}
}

// event returns a warning for key, or nil (a no-op event) when one of the
// same key was logged less than warnEvery ago.
func (w *warner) event(key string) *zerolog.Event { return w.lim.Warn(&w.log, key) }

// logHandler carries mochi's slog records to zerolog. It rate-limits
// warnings and errors per kind (every refused or dropped connection is one
// mochi warning, so a hostile client could otherwise fill the disk), and
// replaces every MQTT packet mochi attaches by a summary: a packet holds
// the payload and, for CONNECT, the password.
type logHandler struct {
	next slog.Handler
	lim  *ratelog.Limiter
}

func newLogHandler(log zerolog.Logger, c clock.Clock) *logHandler {
	return &logHandler{next: zerolog.NewSlogHandler(log), lim: ratelog.New(ratelog.Options{Every: warnEvery, Clock: c})}
}

// Enabled implements slog.Handler.
func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	var errText string
	logged := false
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			errText = fmt.Sprint(a.Value.Any())
			logged = r.Message == "" && ownRefusal(a.Value.Any())
			if err, ok := a.Value.Any().(error); ok && errors.Is(err, net.ErrClosed) {
				// The broker closed the connection itself (shutdown, a
				// takeover, a kicked client): the reader's error says
				// nothing a user should act on.
				level = min(level, slog.LevelDebug)
			}
		}
		attrs = append(attrs, scrub(a))
		return true
	})
	if logged {
		return nil // the auth hook has logged it, with user and address
	}
	if !h.next.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	if level >= slog.LevelWarn {
		ok, n := h.lim.Allow(level.String() + "|" + r.Message + "|" + stripDigits(errText))
		if !ok {
			return nil
		}
		if n > 0 {
			out.AddAttrs(slog.Int(ratelog.SuppressedField, n))
		}
	}
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(as))
	for i, a := range as {
		scrubbed[i] = scrub(a)
	}
	return &logHandler{next: h.next.WithAttrs(scrubbed), lim: h.lim}
}

// WithGroup implements slog.Handler.
func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), lim: h.lim}
}

// ownRefusal reports whether err is a connect refusal the auth hook has
// already logged (mochi's listener logs it again, without message).
func ownRefusal(v any) bool {
	err, ok := v.(error)
	if !ok {
		return false
	}
	for _, c := range []packets.Code{packets.ErrBadUsernameOrPassword, packets.ErrServerUnavailable, packets.ErrClientIdentifierNotValid} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// scrub replaces an MQTT packet by its kind, topic and size.
func scrub(a slog.Attr) slog.Attr {
	var pk *packets.Packet
	switch v := a.Value.Any().(type) {
	case packets.Packet:
		pk = &v
	case *packets.Packet:
		pk = v
	default:
		return a
	}
	if pk == nil {
		return slog.String(a.Key, "nil")
	}
	s := fmt.Sprintf("%s packet", packets.PacketNames[pk.FixedHeader.Type])
	if pk.TopicName != "" {
		s += " on " + clip(pk.TopicName)
	}
	return slog.String(a.Key, fmt.Sprintf("%s, %d payload bytes", s, len(pk.Payload)))
}

// stripDigits keeps addresses and ports out of a rate-limit key, so
// "connection reset from 10.0.0.7:51234" is one kind, not one per port.
func stripDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, clip(s))
}
