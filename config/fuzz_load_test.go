package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds the loader arbitrary files: it must return a config
// or problems, never panic, and a config it accepts must validate again.
// Seeds are in testdata/fuzz/FuzzLoadConfig plus the documented example.
func FuzzLoadConfig(f *testing.F) {
	if example, err := os.ReadFile("../config.example.toml"); err == nil {
		f.Add(string(example))
	}
	f.Add("[mqtt]\nurl = \"tcp://127.0.0.1:1883\"\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data string) {
		// *_file keys read files; keep the fuzzer away from devices that
		// never end or block.
		for _, bad := range []string{"/dev", "/proc", "/sys"} {
			if strings.Contains(data, bad) {
				t.Skip()
			}
		}
		path := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadWith(path, nil)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("LoadWith = %v, %v: want exactly one", cfg, err)
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) && len(Problems(err)) == 0 {
				t.Fatalf("an *Error without problems: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config no longer validates: %v", err)
		}
	})
}
