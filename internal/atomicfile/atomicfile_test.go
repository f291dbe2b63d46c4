package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteReplacesWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := Write(path, []byte("one"), 0); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("default mode %04o, want 0600", m)
	}
	if err := Write(path, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q", b)
	}
	if m := mode(t, path); m != 0o644 {
		t.Errorf("mode %04o, want 0644 as asked", m)
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("files left: %v", n)
	}

	nested := filepath.Join(dir, "a", "b", "budget.json")
	if err := Write(nested, []byte("x"), 0o600); err == nil {
		t.Error("wrote into a missing directory without MkdirPerm")
	}
	if err := (Writer{MkdirPerm: 0o700}).Write(nested, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, filepath.Dir(nested)); m != 0o700 {
		t.Errorf("made dir mode %04o, want 0700", m)
	}
}

// TestFaultAtEveryStep fails a write at each step in turn: before the
// rename the old file survives whole, after it the new one; no temp file
// (which could hold a secret) is ever left behind.
func TestFaultAtEveryStep(t *testing.T) {
	for _, step := range []Step{StepMkdir, StepCreate, StepWrite, StepSync, StepClose, StepRename, StepSyncDir} {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token.json")
			if err := Write(path, []byte("old secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("disk on fire")
			var seen []Step
			w := Writer{MkdirPerm: 0o700, Fault: func(s Step) error {
				seen = append(seen, s)
				if s == step {
					return boom
				}
				return nil
			}}
			err := w.Write(path, []byte("new secret"))
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), string(step)) {
				t.Fatalf("err = %v, want the fault at %s", err, step)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error carries the content: %v", err)
			}
			if seen[len(seen)-1] != step {
				t.Errorf("steps %v did not stop at %s", seen, step)
			}
			want := "old secret"
			if step == StepSyncDir {
				want = "new secret" // renamed already: the new file is complete
			}
			if b, _ := os.ReadFile(path); string(b) != want {
				t.Errorf("after a fault at %s the file holds %q, want %q", step, b, want)
			}
			if n := names(t, dir); len(n) != 1 || n[0] != "token.json" {
				t.Errorf("files left after a fault at %s: %v", step, n)
			}
		})
	}
}

// TestWriteNewNeverOverwrites races writers of a file that must be
// created once: exactly one wins, the others get os.ErrExist, and the
// winner's content is whole.
func TestWriteNewNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "private-key.pem")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = WriteNew(path, []byte(fmt.Sprintf("key-%02d", i)), 0o600) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("writers %d and %d both created the file", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, os.ErrExist):
			t.Errorf("writer %d: %v, want os.ErrExist", i, err)
		}
	}
	if b, _ := os.ReadFile(path); won < 0 || string(b) != fmt.Sprintf("key-%02d", won) {
		t.Errorf("file holds %q, winner %d", b, won)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode %04o", m)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("files left: %v", got)
	}
}

// TestConcurrentWritersUseOwnTemps: writers of one file never share a temp
// file, so the result is always one writer's whole content.
func TestConcurrentWritersUseOwnTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vehicle_sessions.json")
	payload := func(i int) string { return strings.Repeat(fmt.Sprintf("%02d", i), 4096) }
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := Write(path, []byte(payload(i)), 0o600); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b, _ := os.ReadFile(path)
	whole := false
	for i := range 16 {
		whole = whole || string(b) == payload(i)
	}
	if !whole {
		t.Errorf("the file is not any one writer's content (%d bytes)", len(b))
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("files left: %v", got)
	}
}

// TestStaleTempsAreRemoved: leftovers of interrupted writes are removed
// once a minute old, by the next write and by RemoveStale; younger ones
// (maybe another process's write in progress) and files that are not our
// temp files stay.
func TestStaleTempsAreRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	mk := func(name string, age time.Duration) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(`{"refresh_token":"lost"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		// Ages are relative to the kernel's clock, read from a fresh file.
		ref := filepath.Join(t.TempDir(), "ref")
		if err := os.WriteFile(ref, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(ref)
		if err != nil {
			t.Fatal(err)
		}
		mt := fi.ModTime().Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }

	crashed := mk(".token-1234567.tmp", 2*time.Minute)
	young := mk(".token-7654321.tmp", 0)
	foreign := []string{mk(".token-backup.tmp", time.Hour), mk("notes.tmp", time.Hour), mk(".budget-123.tmp", time.Hour)}
	if err := Write(path, []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	if exists(crashed) {
		t.Error("a write left a crashed write's temp file older than a minute")
	}
	if !exists(young) {
		t.Error("a write removed a temp file younger than a minute")
	}
	for _, p := range foreign {
		if !exists(p) {
			t.Errorf("a write removed %s, which is not this file's temp", filepath.Base(p))
		}
	}

	crashed = mk(".token-999.tmp", 2*time.Minute)
	fi, err := os.Stat(young)
	if err != nil {
		t.Fatal(err)
	}
	RemoveStale(path, fi.ModTime().Add(30*time.Second))
	if exists(crashed) || !exists(young) {
		t.Errorf("RemoveStale: crashed left %t, young kept %t", exists(crashed), exists(young))
	}
	RemoveStale(path, fi.ModTime().Add(StaleAge))
	if exists(young) {
		t.Error("RemoveStale kept a temp file a minute old")
	}
}
