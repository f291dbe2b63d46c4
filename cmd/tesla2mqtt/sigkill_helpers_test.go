package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// relBuild builds the tesla2mqtt binary into a temporary directory, for
// tests that run it as a real process (signals, crashes).
func relBuild(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "tesla2mqtt")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
