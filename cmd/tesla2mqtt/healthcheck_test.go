package main

import (
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// TestHealthcheckSubcommand is what Docker's HEALTHCHECK runs: exit 0
// against a healthy demo, 1 when nothing answers.
func TestHealthcheckSubcommand(t *testing.T) {
	demo := peerStartDemo(t, nil, "--mqtt-addr", "127.0.0.1:0")
	u, err := url.Parse(demo.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(peerBinary(t), "healthcheck", "--addr", u.Host).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "healthy") {
		t.Fatalf("healthcheck of a running demo: %v\n%s", err, out)
	}
	out, err = exec.Command(peerBinary(t), "healthcheck", "--addr", peerFreeAddr(t)).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "unhealthy") {
		t.Fatalf("healthcheck with nothing listening: %v\n%s", err, out)
	}
}

func TestHealthURLReachesWildcardOnLoopback(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:8088":   "http://127.0.0.1:8088/healthz",
		":8088":          "http://127.0.0.1:8088/healthz",
		"[::]:8088":      "http://127.0.0.1:8088/healthz",
		"10.0.0.5:9000":  "http://10.0.0.5:9000/healthz",
		"localhost:8088": "http://localhost:8088/healthz",
	} {
		if got, err := healthURL(in); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
