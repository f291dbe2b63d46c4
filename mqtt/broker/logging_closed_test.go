package broker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// A connection the broker closed itself (at shutdown, say) makes mochi's
// reader warn "use of closed network connection"; that is no warning for
// the user (the demo printed one on every Ctrl-C). Other read errors stay
// warnings.
func TestClosedConnectionIsNoWarning(t *testing.T) {
	var buf bytes.Buffer
	h := newLogHandler(zerolog.New(&buf).Level(zerolog.InfoLevel), clock.NewManual(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)))
	log := slog.New(h)
	closed := &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
	log.Warn("", "listener", "t1", "error", fmt.Errorf("read: %w", closed))
	if buf.Len() != 0 {
		t.Fatalf("a closed connection was logged at info or above: %s", buf.String())
	}
	log.Warn("", "listener", "t1", "error", errors.New("read tcp: connection reset by peer"))
	if !strings.Contains(buf.String(), `"level":"warn"`) || !strings.Contains(buf.String(), "connection reset") {
		t.Fatalf("another read error is no longer a warning: %q", buf.String())
	}
}
