package bridge

import (
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/ratelog"
)

// A flood of bad messages must not become a flood of log lines (one line
// per rejected message once filled 68 MB in 30 minutes): warnings about
// rejected messages and refused commands go out at most once a minute per
// device and reason, the next one carrying the count held back. What a
// sender chose (a device name, a topic) is cut short in them.

// logNameLen bounds a sender's text in a log line.
const logNameLen = 64

// newRejects is the limiter of the bridge's rejection warnings.
func newRejects(o Options) *ratelog.Limiter {
	return ratelog.New(ratelog.Options{Clock: o.Clock})
}

// reject is a warning about a message rejected for reason, on behalf of
// the device name; nil (which logs nothing) while the pair is held back.
func (b *Bridge) reject(name, reason string) *zerolog.Event {
	return b.rejectAt(zerolog.WarnLevel, name, reason)
}

// rejectAt is reject at another level.
func (b *Bridge) rejectAt(level zerolog.Level, name, reason string) *zerolog.Event {
	name = short(name)
	return b.rejects.Event(&b.log, level, name+"\x00"+reason).Str("device", name).Str("reason", reason)
}

// short cuts a sender's text to logNameLen bytes on a character boundary,
// marking the cut.
func short(s string) string {
	if len(s) <= logNameLen {
		return s
	}
	cut := s[:logNameLen]
	for !utf8.ValidString(cut) && len(cut) > 0 {
		cut = cut[:len(cut)-1]
	}
	return cut + "…"
}
