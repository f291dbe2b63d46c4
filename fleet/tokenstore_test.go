package fleet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
)

func authSampleToken(n int) *Token {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Token{
		AccessToken: fmt.Sprintf("access-%d", n), RefreshToken: fmt.Sprintf("NA_refresh-%d", n),
		PreviousRefreshToken: fmt.Sprintf("NA_refresh-%d", n-1), TokenType: "Bearer",
		Expiry: at.Add(8 * time.Hour), IDToken: fmt.Sprintf("id-%d", n), Region: "na", BaseURL: BaseURLNA, ObtainedAt: at,
	}
}

func authMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestTokenStoreRoundTripAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested")
	s := NewFileTokenStore(dir)
	want := authSampleToken(1)
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if m := authMode(t, s.Path()); m != 0o600 {
		t.Errorf("token file mode %04o, want 0600", m)
	}
	if m := authMode(t, dir); m != 0o700 {
		t.Errorf("dir mode %04o, want 0700", m)
	}
	got, err := NewFileTokenStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v, want %+v", *got, *want)
	}

	// An existing wider directory is narrowed.
	wide := filepath.Join(t.TempDir(), "wide")
	if err := os.Mkdir(wide, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(wide, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := NewFileTokenStore(wide).Save(want); err != nil {
		t.Fatal(err)
	}
	if m := authMode(t, wide); m != 0o700 {
		t.Errorf("existing dir mode %04o, want 0700", m)
	}
}

func TestTokenStoreNoToken(t *testing.T) {
	_, err := NewFileTokenStore(t.TempDir()).Load()
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "tesla2mqtt login") {
		t.Fatalf("err = %v, want ErrNoToken with a hint", err)
	}
}

func TestTokenStoreRefusesReadableFile(t *testing.T) {
	s := NewFileTokenStore(t.TempDir())
	tok := authSampleToken(1)
	if err := s.Save(tok); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(s.Path(), mode); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load()
		if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "chmod 600 "+s.Path()) {
			t.Errorf("mode %04o: err = %v, want ErrInsecureFile with chmod remedy", mode, err)
		}
		authNoSecrets(t, fmt.Sprint(err), tok.AccessToken, tok.RefreshToken)
	}
}

func TestTokenStoreCorruptFile(t *testing.T) {
	s := NewFileTokenStore(t.TempDir())
	for _, body := range []string{`{"access_token":"SECRET-AT`, `{}`, `not json SECRET-AT`} {
		if err := os.WriteFile(s.Path(), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load()
		if err == nil || errors.Is(err, ErrNoToken) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("body %q: err = %v", body, err)
		}
	}
}

// TestTokenStoreFailedWriteEachStep fails Save at every step and proves the
// previous token survives (the rename is the commit point) and no temp file
// is left behind.
func TestTokenStoreFailedWriteEachStep(t *testing.T) {
	steps := []atomicfile.Step{atomicfile.StepMkdir, atomicfile.StepCreate, atomicfile.StepWrite, atomicfile.StepSync,
		atomicfile.StepClose, atomicfile.StepRename, atomicfile.StepSyncDir}
	for _, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			s := NewFileTokenStore(dir)
			old, next := authSampleToken(1), authSampleToken(2)
			if err := s.Save(old); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("disk on fire")
			var seen []atomicfile.Step
			s.writeHook = func(st atomicfile.Step) error {
				seen = append(seen, st)
				if st == step {
					return boom
				}
				return nil
			}
			err := s.Save(next)
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), string(step)) {
				t.Fatalf("Save err = %v, want the injected fault at %s", err, step)
			}
			if seen[len(seen)-1] != step {
				t.Errorf("steps run %q, want to stop at %s", seen, step)
			}
			s.writeHook = nil
			got, err := s.Load()
			if err != nil {
				t.Fatalf("token lost after a failure at %s: %v", step, err)
			}
			want := old
			if step == atomicfile.StepSyncDir { // already renamed: the new file is complete
				want = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after failure at %s Load = %v, want %v", step, got, want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != TokenFileName {
				t.Errorf("leftover files: %v", entries)
			}
			if m := authMode(t, s.Path()); m != 0o600 {
				t.Errorf("mode %04o", m)
			}
		})
	}
}

func TestTokenStringRedacts(t *testing.T) {
	tok := authSampleToken(3)
	out := fmt.Sprintf("%v %+v %s", *tok, tok, tok)
	authNoSecrets(t, out, tok.AccessToken, tok.RefreshToken, tok.PreviousRefreshToken, tok.IDToken)
	if !strings.Contains(out, "refresh: true") {
		t.Errorf("String = %s", out)
	}
	if o := tok.OAuth2(); o.AccessToken != tok.AccessToken || o.TokenType != "Bearer" || !o.Expiry.Equal(tok.Expiry) {
		t.Errorf("OAuth2 = %+v", o)
	}
}
