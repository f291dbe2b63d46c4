package config

import (
	"os"
	"path/filepath"
	"testing"
)

// writeConfig writes doc to config.toml in a fresh directory and returns its path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// noEnv is an empty environment, so tests never depend on the developer's shell.
func noEnv(string) string { return "" }

// envOf returns an environment holding only m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// problemKeys returns the key of every problem of err, in order.
func problemKeys(err error) []string {
	var keys []string
	for _, p := range Problems(err) {
		keys = append(keys, p.Key)
	}
	return keys
}

// findProblem returns the first problem of err about key.
func findProblem(t *testing.T, err error, key string) Problem {
	t.Helper()
	for _, p := range Problems(err) {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("no problem about %q in:\n%v", key, err)
	return Problem{}
}
