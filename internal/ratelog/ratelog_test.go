package ratelog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// lines decodes the JSON log lines in buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// A flood of one warning becomes one line per interval, and the next line
// says how many were held back; another key is not held back by it.
func TestFloodBecomesOneLinePerIntervalWithCount(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	lim := New(Options{Every: time.Minute, Clock: clk})
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	for range 1000 {
		lim.Warn(&log, "car-a:bad_payload").Str("device", "a").Msg("rejected")
	}
	lim.Warn(&log, "car-b:bad_payload").Str("device", "b").Msg("rejected")
	got := lines(t, &buf)
	if len(got) != 2 || got[0]["device"] != "a" || got[1]["device"] != "b" {
		t.Fatalf("1000 warnings of one key and one of another logged %d lines: %v", len(got), got)
	}
	if _, ok := got[0][SuppressedField]; ok {
		t.Errorf("the first line claims suppressed events: %v", got[0])
	}

	buf.Reset()
	clk.Advance(time.Minute)
	lim.Warn(&log, "car-a:bad_payload").Msg("rejected")
	got = lines(t, &buf)
	if len(got) != 1 || got[0][SuppressedField] != 999.0 || got[0]["level"] != "warn" {
		t.Fatalf("after the interval: %v, want one warn line with suppressed=999", got)
	}
	buf.Reset()
	clk.Advance(time.Minute)
	lim.Warn(&log, "car-a:bad_payload").Msg("rejected")
	if got = lines(t, &buf); len(got) != 1 || got[0][SuppressedField] != nil {
		t.Fatalf("a quiet interval still reports suppressed events: %v", got)
	}
}

// A level the logger filters out does not use up the key's slot: the
// first warning after the level is lowered still gets through.
func TestFilteredLevelKeepsTheSlot(t *testing.T) {
	lim := New(Options{Clock: clock.NewManual(time.Unix(0, 0))})
	var buf bytes.Buffer
	quiet := zerolog.New(&buf).Level(zerolog.ErrorLevel)
	lim.Warn(&quiet, "k").Msg("hidden")
	loud := zerolog.New(&buf)
	lim.Warn(&loud, "k").Msg("shown")
	if got := lines(t, &buf); len(got) != 1 || got[0]["message"] != "shown" {
		t.Fatalf("lines = %v, want only the warning logged at warn level", got)
	}
}

// Keys chosen by an attacker (one per address) cannot grow memory: past
// MaxKeys new keys share one overflow key, whose count is kept.
func TestKeysAreBounded(t *testing.T) {
	clk := clock.NewManual(time.Unix(0, 0))
	lim := New(Options{Every: time.Minute, MaxKeys: 8, Clock: clk})
	allowed := 0
	for i := range 10_000 {
		if ok, _ := lim.Allow("addr-" + strconv.Itoa(i)); ok {
			allowed++
		}
	}
	if n := len(lim.keys); n > 8 {
		t.Fatalf("%d keys tracked, want at most 8", n)
	}
	// 7 keys fit beside the overflow key, which lets one more through.
	if allowed != 8 {
		t.Fatalf("%d events allowed, want 8 (7 keys and the overflow key)", allowed)
	}
	if n := lim.keys[OverflowKey].suppressed; n != 10_000-8 {
		t.Fatalf("overflow key held back %d, want %d", n, 10_000-8)
	}
	// Once their interval is over, idle keys make room again.
	clk.Advance(time.Minute)
	if ok, n := lim.Allow("addr-new"); !ok || n != 0 || lim.keys["addr-new"] == nil {
		t.Fatalf("after the interval a new key got Allow = %v, %d and no slot of its own", ok, n)
	}
	if ok, n := lim.Allow("addr-other"); !ok || n != 0 {
		t.Fatalf("second new key: Allow = %v, %d", ok, n)
	}
	if n := len(lim.keys); n > 8 {
		t.Fatalf("%d keys tracked after pruning, want at most 8", n)
	}
}
