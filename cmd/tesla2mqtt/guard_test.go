package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// A panic in a side goroutine is reported, with what panicked, and the
// process goes on; the bench gets it as an error.
func TestGoroutineGuards(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer recoverTo(log, "telemetry demo tick")
		panic("boom")
	}()
	<-done
	if out := buf.String(); !strings.Contains(out, `"goroutine":"telemetry demo tick"`) || !strings.Contains(out, "boom") {
		t.Fatalf("panic not reported: %q", out)
	}
	err := runGuarded("bench: the bridge", func() { panic("nil map") })
	if err == nil || !strings.Contains(err.Error(), "bench: the bridge panicked: nil map") {
		t.Fatalf("runGuarded = %v", err)
	}
	if err := runGuarded("x", func() {}); err != nil {
		t.Fatalf("runGuarded without a panic = %v", err)
	}
}
