package fleet

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A save interrupted by a crash leaves its temp file, with a refresh token
// in it. Load and Save remove such leftovers once they are a minute old,
// and nothing else: a younger one may be another process's save in
// progress, and files of other names are not ours.
func TestTokenStoreRemovesStaleTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := NewFileTokenStore(dir)
	if err := s.Save(authSampleToken(1)); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Minute)
	write := func(name string, mtime time.Time) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(`{"refresh_token":"NA_lost"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }

	crashed := write(".token-1234567.tmp", old)
	inFlight := write(".token-7654321.tmp", time.Now())
	foreign := []string{write("notes.tmp", old), write(".token-backup.json", old), write("x.token-1.tmp", old)}
	ourDir := filepath.Join(dir, ".token-dir.tmp")
	if err := os.Mkdir(ourDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(ourDir, old, old); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if exists(crashed) {
		t.Error("Load left a crashed save's temp file older than a minute")
	}
	if !exists(inFlight) {
		t.Error("Load removed a temp file less than a minute old (a save may be running)")
	}
	for _, p := range append(foreign, ourDir) {
		if !exists(p) {
			t.Errorf("Load removed %s, which is not a temp file of ours", filepath.Base(p))
		}
	}

	crashed = write(".token-999.tmp", old)
	if err := s.Save(authSampleToken(2)); err != nil {
		t.Fatal(err)
	}
	if exists(crashed) {
		t.Error("Save left a crashed save's temp file older than a minute")
	}
	if got, err := s.Load(); err != nil || got.RefreshToken != authSampleToken(2).RefreshToken {
		t.Fatalf("after cleaning, Load = %v, %v", got, err)
	}
}
