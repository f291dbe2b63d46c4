package leakcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeT captures what Check reports instead of failing the real test.
type fakeT struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}

func (f *fakeT) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

//go:noinline
func parkedWorker(stop <-chan struct{}, done chan<- struct{}) {
	<-stop
	close(done)
}

func TestCheckReportsALeakWithItsStack(t *testing.T) {
	ft := &fakeT{TB: t}
	Check(ft, Grace(50*time.Millisecond))
	stop, done := make(chan struct{}), make(chan struct{})
	go parkedWorker(stop, done)
	ft.end()
	close(stop)
	<-done
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], "parkedWorker") || !strings.Contains(ft.errors[0], "1 goroutine(s)") {
		t.Fatalf("Check reported %q, want the one parked worker with its stack", ft.errors)
	}
}

func TestCheckWaitsForGoroutinesThatAreEnding(t *testing.T) {
	ft := &fakeT{TB: t}
	Check(ft)
	stop, done := make(chan struct{}), make(chan struct{})
	go parkedWorker(stop, done)
	// Stopped, but it ends asynchronously: the check must wait, not fail.
	close(stop)
	ft.end()
	if len(ft.errors) != 0 {
		t.Fatalf("a goroutine that was ending was reported: %q", ft.errors)
	}
	<-done
}

func TestCheckBlamesOnlyNewGoroutines(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	go parkedWorker(stop, done) // started before the check: not this test's
	defer func() { close(stop); <-done }()
	ft := &fakeT{TB: t}
	Check(ft, Grace(20*time.Millisecond))
	ft.end()
	if len(ft.errors) != 0 {
		t.Fatalf("an older goroutine was blamed: %q", ft.errors)
	}
}

func TestIgnoreEntry(t *testing.T) {
	ft := &fakeT{TB: t}
	Check(ft, Grace(20*time.Millisecond), IgnoreEntry("github.com/tesla2mqtt/tesla2mqtt/internal/leakcheck.parkedWorker"))
	stop, done := make(chan struct{}), make(chan struct{})
	go parkedWorker(stop, done)
	ft.end()
	close(stop)
	<-done
	if len(ft.errors) != 0 {
		t.Fatalf("an ignored goroutine was reported: %q", ft.errors)
	}
}

func TestEntryParsesFrames(t *testing.T) {
	stack := []string{
		"internal/poll.runtime_pollWait(0x7f, 0x72)",
		"\t/usr/local/go/src/runtime/netpoll.go:351 +0x85",
		"net/http.(*persistConn).readLoop(0xc000123)",
		"\t/usr/local/go/src/net/http/transport.go:2200 +0x1a",
		"created by net/http.(*Transport).dialConn in goroutine 7",
		"\t/usr/local/go/src/net/http/transport.go:1800 +0x2",
	}
	if got := entry(stack); got != "net/http.(*persistConn).readLoop" {
		t.Errorf("entry = %q", got)
	}
}
