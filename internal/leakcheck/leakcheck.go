// Package leakcheck fails tests that leave goroutines running: every
// goroutine the code under test starts must have an owner that ends it
// (Close, Run returning with its context). It is a small stand-in for
// go.uber.org/goleak with no dependency outside the standard library.
//
// Use Main in a package's TestMain to check after all its tests, or Check
// at the start of one test to blame that test. Check does not work for
// tests that run in parallel with others (t.Parallel): their goroutines
// would look like leaks.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// DefaultGrace is how long a check waits for goroutines to end. Code that
// stops its goroutines on Close often lets them finish asynchronously (a
// reader sees EOF a moment later), so a check polls until they are gone;
// only a goroutine still running after the grace is a leak. The grace
// costs nothing when nothing leaks.
const DefaultGrace = 5 * time.Second

// pollEvery is the interval between two looks at the goroutines.
const pollEvery = 10 * time.Millisecond

// Option tunes a check.
type Option func(*config)

type config struct {
	grace  time.Duration
	ignore []string
}

// Grace replaces DefaultGrace.
func Grace(d time.Duration) Option { return func(c *config) { c.grace = d } }

// IgnoreEntry ignores goroutines whose entry function (the function the
// goroutine was started with) begins with prefix, e.g. a third-party
// library's global worker that lives as long as the process on purpose.
// Every use should say why in a comment.
func IgnoreEntry(prefix string) Option {
	return func(c *config) { c.ignore = append(c.ignore, prefix) }
}

func newConfig(opts []Option) *config {
	c := &config{grace: DefaultGrace}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Check records the goroutines running now and, when t ends (after the
// cleanups t registers later, which run first), fails t with the stacks
// of every goroutine started since that is still running after the grace.
func Check(t testing.TB, opts ...Option) {
	t.Helper()
	c := newConfig(opts)
	before := snapshot()
	t.Cleanup(func() {
		if leaked := c.wait(before); len(leaked) > 0 {
			t.Errorf("leakcheck: %d goroutine(s) outlived the test:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
}

// Mark records the goroutines running now and returns a check that fails t
// when goroutines started since are still running after the grace. It
// blames one step of a test (a Close) where Check would only look after
// the test's cleanups, which may end the same goroutines by other means.
func Mark(t testing.TB, opts ...Option) (check func()) {
	t.Helper()
	c := newConfig(opts)
	before := snapshot()
	return func() {
		t.Helper()
		if leaked := c.wait(before); len(leaked) > 0 {
			t.Errorf("leakcheck: %d goroutine(s) still running:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	}
}

// Main runs the package's tests and then fails the run (exit code 1) if
// goroutines started during them are still running after the grace.
// Call it as the whole body of TestMain; it does not return.
func Main(m *testing.M, opts ...Option) {
	c := newConfig(opts)
	before := snapshot()
	code := m.Run()
	if leaked := c.wait(before); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) outlived the tests:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// wait polls until no goroutine outside before is left, or the grace ends;
// it returns the stacks of those left.
func (c *config) wait(before map[string]bool) []string {
	wall := clock.Real()
	deadline := wall.Now().Add(c.grace)
	for {
		leaked := c.leaked(before)
		if len(leaked) == 0 || !wall.Now().Before(deadline) {
			return leaked
		}
		t := wall.NewTimer(pollEvery)
		<-t.C()
	}
}

// leaked lists the goroutines not in before and not ignored.
func (c *config) leaked(before map[string]bool) []string {
	var out []string
	for _, g := range goroutines() {
		if before[g.id] || g.self || c.ignored(g) {
			continue
		}
		out = append(out, g.stack)
	}
	slices.Sort(out)
	return out
}

func (c *config) ignored(g goroutine) bool {
	// The testing package's own goroutines: tests running (tRunner), the
	// fuzzing engine. Signal handling is started once per process.
	for _, p := range []string{"testing.", "os/signal.", "runtime.ensureSigM"} {
		if strings.HasPrefix(g.entry, p) {
			return true
		}
	}
	for _, p := range c.ignore {
		if strings.HasPrefix(g.entry, p) {
			return true
		}
	}
	return false
}

// goroutine is one entry of runtime.Stack(all).
type goroutine struct {
	id    string
	entry string // the function the goroutine started in
	stack string
	self  bool // the goroutine that took the snapshot
}

// snapshot returns the ids of the goroutines running now.
func snapshot() map[string]bool {
	ids := map[string]bool{}
	for _, g := range goroutines() {
		ids[g.id] = true
	}
	return ids
}

// goroutines parses the stacks of all goroutines. The first one printed
// is always the caller's own.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for i, block := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		lines := strings.Split(block, "\n")
		header, ok := strings.CutPrefix(lines[0], "goroutine ")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(header, " ")
		out = append(out, goroutine{id: id, entry: entry(lines[1:]), stack: block, self: i == 0})
	}
	return out
}

// entry returns the goroutine's outermost function: the last frame before
// the "created by" line. Frames are a function line followed by a
// tab-indented file:line.
func entry(lines []string) string {
	fn := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "created by ") {
			break
		}
		if l != "" && !strings.HasPrefix(l, "\t") {
			fn = l
		}
	}
	if i := strings.LastIndex(fn, "("); i > 0 && strings.HasSuffix(fn, ")") {
		fn = fn[:i] // drop the argument list, keep "pkg.(*T).method"
	}
	return fn
}
