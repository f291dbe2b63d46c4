package main

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// --pprof serves profiles on loopback and refuses to expose them on the
// network unless the user says so explicitly.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0"} {
		_, _, err := startPprof(addr, false, zerolog.Nop())
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--pprof-allow-remote") {
			t.Errorf("--pprof %s: err = %v, want a usage error naming --pprof-allow-remote", addr, err)
		}
	}
	stop, bound, err := startPprof("127.0.0.1:0", false, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + bound + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("goroutine profile: %d %.100s", resp.StatusCode, body)
	}
}
