package fleet

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// Regression (issue 19): a corrupt token file made `run` exit, a restart
// loop in Docker or the add-on. The token source now starts without a
// token, says the file is corrupt (never quoting it), counts as
// login_required, and takes the next saved token.
func TestTokenSourceStartsOnCorruptFile(t *testing.T) {
	store := NewFileTokenStore(t.TempDir())
	if err := os.WriteFile(store.Path(), []byte(`{"access_token":"SECRET-AT`), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, err := NewTokenSource(TokenSourceOptions{Store: store, ClientID: "client-1"})
	if err != nil {
		t.Fatalf("corrupt token file: %v, want a running token source", err)
	}
	if ts.Current() != nil {
		t.Fatal("a token from a corrupt file")
	}
	_, err = ts.Token()
	if !errors.Is(err, ErrCorruptToken) || !errors.Is(err, ErrLoginRequired) || errors.Is(err, ErrNoToken) {
		t.Fatalf("Token() = %v, want ErrCorruptToken and ErrLoginRequired", err)
	}
	if msg := err.Error(); !strings.Contains(msg, store.Path()) || !strings.Contains(msg, "corrupt") || strings.Contains(msg, "SECRET") {
		t.Fatalf("reason %q: want the file and 'corrupt', never its content", msg)
	}

	tok := &Token{AccessToken: "at", RefreshToken: "rt", Expiry: time.Now().Add(time.Hour)}
	if err := store.Save(tok); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, err := ts.Token(); err != nil || got.AccessToken != "at" {
		t.Fatalf("after a new login: %v, %v", got, err)
	}

	// An insecure file is still refused: that one is for the user to fix.
	if err := os.Chmod(store.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTokenSource(TokenSourceOptions{Store: store, ClientID: "client-1"}); !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("world-readable token file: %v, want ErrInsecureFile", err)
	}
}
