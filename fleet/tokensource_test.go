package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// authFixture wires a TokenSource to the fake server, a clock and a log buffer.
type authFixture struct {
	clock *clock.Manual
	srv   *authServer
	log   *bytes.Buffer
	errs  []string
}

func newAuthFixture(t *testing.T) *authFixture {
	clock := newAuthClock()
	f := &authFixture{clock: clock, srv: newAuthServer(t, clock), log: &bytes.Buffer{}}
	t.Cleanup(func() {
		// Nothing secret may reach a log line or an error message.
		text := f.log.String() + fmt.Sprint(f.errs)
		authNoSecrets(t, text, f.srv.secrets()...)
	})
	return f
}

func (f *authFixture) source(t *testing.T, store TokenStore, mod func(*TokenSourceOptions)) *TokenSource {
	t.Helper()
	opts := TokenSourceOptions{Store: store, ClientID: "client-1", TokenURL: f.srv.URL(),
		Clock: f.clock, Logger: zerolog.New(f.log)}
	if mod != nil {
		mod(&opts)
	}
	ts, err := NewTokenSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// token calls Token and records the error text for the leak check.
func (f *authFixture) token(ts *TokenSource) (string, error) {
	tok, err := ts.Token()
	if err != nil {
		f.errs = append(f.errs, err.Error())
		return "", err
	}
	return tok.AccessToken, nil
}

func TestTokenSourceCachesThenRefreshes(t *testing.T) {
	f := newAuthFixture(t)
	first := f.srv.login()
	store := &authMemStore{tok: first}
	var gotClaims *Claims
	ts := f.source(t, store, func(o *TokenSourceOptions) { o.OnRefresh = func(_ *Token, c *Claims) { gotClaims = c } })

	f.clock.Advance(7*time.Hour + 54*time.Minute) // 6 min left: still fresh
	if at, err := f.token(ts); err != nil || at != first.AccessToken || f.srv.calls() != 0 {
		t.Fatalf("fresh token: %v, %d calls", err, f.srv.calls())
	}
	f.clock.Advance(2 * time.Minute) // 4 min left: refresh
	at, err := f.token(ts)
	if err != nil {
		t.Fatal(err)
	}
	form := f.srv.form(0)
	if form.Get("grant_type") != "refresh_token" || form.Get("client_id") != "client-1" || form.Get("refresh_token") != first.RefreshToken {
		t.Errorf("refresh form = %v", form)
	}
	saved := store.current()
	if at == first.AccessToken || saved.AccessToken != at {
		t.Fatal("the returned token is not the saved one")
	}
	if saved.PreviousRefreshToken != first.RefreshToken || saved.RefreshToken == first.RefreshToken ||
		saved.Region != "eu" || saved.BaseURL != BaseURLEU || !saved.Expiry.Equal(f.clock.Now().Add(8*time.Hour)) {
		t.Errorf("saved token = %v prev-ok=%t", saved, saved.PreviousRefreshToken == first.RefreshToken)
	}
	if gotClaims == nil || !gotClaims.HasScope("vehicle_device_data") {
		t.Errorf("OnRefresh claims = %+v", gotClaims)
	}
	if !bytes.Contains(f.log.Bytes(), []byte("token refreshed")) {
		t.Errorf("log = %s", f.log)
	}
}

// TestTokenRotationAcrossRestart refreshes, "restarts" with a new source on
// the same file, and refreshes again: the rotated token was persisted.
func TestTokenRotationAcrossRestart(t *testing.T) {
	f := newAuthFixture(t)
	dir := t.TempDir() + "/state"
	first := f.srv.login()
	if err := NewFileTokenStore(dir).Save(first); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(8 * time.Hour)
	if _, err := f.token(f.source(t, NewFileTokenStore(dir), nil)); err != nil {
		t.Fatal(err)
	}
	// Restart: a new process knows only the file.
	ts2 := f.source(t, NewFileTokenStore(dir), nil)
	second := ts2.Current()
	if second.RefreshToken == first.RefreshToken || second.PreviousRefreshToken != first.RefreshToken {
		t.Fatal("the rotated refresh token was not persisted")
	}
	f.clock.Advance(8 * time.Hour)
	if _, err := f.token(ts2); err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	if got := f.srv.form(1).Get("refresh_token"); got != second.RefreshToken {
		t.Error("the restarted source did not use the rotated refresh token")
	}
	if authMode(t, dir) != 0o700 || authMode(t, dir+"/"+TokenFileName) != 0o600 {
		t.Error("state file modes")
	}
	// The first token was cycled out: a source still holding it must log in again.
	stale := &authMemStore{tok: first}
	f.clock.Advance(8 * time.Hour)
	if _, err := f.token(f.source(t, stale, nil)); !errors.Is(err, ErrLoginRequired) {
		t.Errorf("cycled-out token: err = %v", err)
	}
}

// TestTokenSaveFailureThenGraceReuse: the new token cannot be saved, so it
// is dropped; the next refresh reuses the old refresh token, which Tesla
// still honours in its 24 h grace.
func TestTokenSaveFailureThenGraceReuse(t *testing.T) {
	f := newAuthFixture(t)
	first := f.srv.login()
	store := &authMemStore{tok: first, failNext: 1}
	ts := f.source(t, store, nil)
	f.clock.Advance(8 * time.Hour)
	if _, err := f.token(ts); err == nil {
		t.Fatal("a failed save must fail the refresh")
	}
	if ts.Current().AccessToken != first.AccessToken || store.current().AccessToken != first.AccessToken {
		t.Fatal("the old token must stay in memory and in the store")
	}
	f.clock.Advance(time.Hour)
	at, err := f.token(ts)
	if err != nil {
		t.Fatalf("grace reuse: %v", err)
	}
	if f.srv.form(1).Get("refresh_token") != first.RefreshToken || store.current().AccessToken != at {
		t.Error("the second refresh did not reuse the old refresh token, or did not save")
	}

	// Outside the grace the used token is dead.
	f2 := newAuthFixture(t)
	first = f2.srv.login()
	store = &authMemStore{tok: first, failNext: 1}
	ts = f2.source(t, store, nil)
	f2.clock.Advance(8 * time.Hour)
	f2.token(ts)
	f2.clock.Advance(25 * time.Hour)
	if _, err := f2.token(ts); !errors.Is(err, ErrLoginRequired) {
		t.Errorf("after the grace: err = %v", err)
	}
}

// TestTokenGraceRescueWithPrevious: the current refresh token is refused
// but the previous one is in its grace: one retry with it succeeds.
func TestTokenGraceRescueWithPrevious(t *testing.T) {
	f := newAuthFixture(t)
	first := f.srv.login()
	// Use first on the server so it enters its grace; the result is "lost".
	ts0 := f.source(t, &authMemStore{tok: first}, nil)
	f.clock.Advance(8 * time.Hour)
	if _, err := f.token(ts0); err != nil {
		t.Fatal(err)
	}
	lost := *first
	lost.RefreshToken, lost.PreviousRefreshToken = "EU_never-recorded", first.RefreshToken
	store := &authMemStore{tok: &lost}
	ts := f.source(t, store, nil)
	if _, err := f.token(ts); err != nil {
		t.Fatalf("grace rescue: %v", err)
	}
	if f.srv.calls() != 3 || f.srv.form(2).Get("refresh_token") != first.RefreshToken {
		t.Errorf("calls = %d, want a retry with the previous token", f.srv.calls())
	}
	if store.current().PreviousRefreshToken != first.RefreshToken {
		t.Error("PreviousRefreshToken must be the token that worked")
	}
}

func TestTokenLoginRequiredUntilReload(t *testing.T) {
	f := newAuthFixture(t)
	first := f.srv.login()
	store := &authMemStore{tok: first}
	var calls atomic.Int32
	ts := f.source(t, store, func(o *TokenSourceOptions) {
		o.OnLoginRequired = func(err error) {
			calls.Add(1)
			if !errors.Is(err, ErrLoginRequired) {
				t.Errorf("OnLoginRequired(%v)", err)
			}
		}
	})
	f.srv.kill(first.RefreshToken)
	f.clock.Advance(8 * time.Hour)
	for range 3 {
		_, err := f.token(ts)
		var oe *OAuthError
		if !errors.Is(err, ErrLoginRequired) || !errors.As(err, &oe) || oe.Status != 401 {
			t.Fatalf("err = %v, want ErrLoginRequired from a 401", err)
		}
	}
	if calls.Load() != 1 || f.srv.calls() != 1 {
		t.Errorf("OnLoginRequired calls = %d, server calls = %d; want 1 and 1", calls.Load(), f.srv.calls())
	}
	// `tesla2mqtt login` writes a new token; the bridge reloads.
	store.Save(f.srv.login())
	if err := ts.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.token(ts); err != nil {
		t.Fatalf("after reload: %v", err)
	}
}

func TestTokenConcurrentRefreshOnce(t *testing.T) {
	f := newAuthFixture(t)
	store := &authMemStore{tok: f.srv.login()}
	ts := f.source(t, store, nil)
	f.clock.Advance(8 * time.Hour)
	start := make(chan struct{})
	var wg sync.WaitGroup
	got := make([]string, 50)
	errs := make([]error, 50)
	for i := range got {
		wg.Go(func() {
			<-start
			tok, err := ts.TokenContext(context.Background())
			if err == nil {
				got[i] = tok.AccessToken
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != store.current().AccessToken {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
	}
	if f.srv.calls() != 1 || store.saves != 1 {
		t.Errorf("refresh requests = %d, saves = %d; want exactly 1", f.srv.calls(), store.saves)
	}
}

func TestTokenNoStoredToken(t *testing.T) {
	f := newAuthFixture(t)
	dir := t.TempDir()
	ts := f.source(t, NewFileTokenStore(dir), nil)
	if _, err := f.token(ts); !errors.Is(err, ErrNoToken) {
		t.Fatalf("err = %v, want ErrNoToken", err)
	}
	if err := ts.Reload(); !errors.Is(err, ErrNoToken) || ts.Current() != nil {
		t.Fatalf("Reload = %v", err)
	}
	NewFileTokenStore(dir).Save(f.srv.login())
	if err := ts.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.token(ts); err != nil {
		t.Fatal(err)
	}
	// A readable token file is refused at construction.
	os.Chmod(dir+"/"+TokenFileName, 0o644)
	if _, err := NewTokenSource(TokenSourceOptions{Store: NewFileTokenStore(dir), ClientID: "c"}); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("world-readable: err = %v", err)
	}
	if _, err := NewTokenSource(TokenSourceOptions{ClientID: "c"}); err == nil {
		t.Error("no store accepted")
	}
}

// TestTokenTransientFailure: a 5xx while the token still works hands out the
// current token and pauses retries; once it has expired the error surfaces.
func TestTokenTransientFailure(t *testing.T) {
	f := newAuthFixture(t)
	first := f.srv.login()
	ts := f.source(t, &authMemStore{tok: first}, nil)
	f.srv.mu.Lock()
	f.srv.fail = 2
	f.srv.mu.Unlock()
	f.clock.Advance(8*time.Hour - 4*time.Minute)
	for range 2 {
		if at, err := f.token(ts); err != nil || at != first.AccessToken {
			t.Fatalf("still-valid token not handed out: %v", err)
		}
	}
	if f.srv.calls() != 1 {
		t.Errorf("calls = %d, want 1 during the retry pause", f.srv.calls())
	}
	f.clock.Advance(5 * time.Minute) // expired, pause over
	if _, err := f.token(ts); err == nil || errors.Is(err, ErrLoginRequired) {
		t.Fatalf("expired token with a failing server: err = %v", err)
	}
	if at, err := f.token(ts); err != nil || at == first.AccessToken {
		t.Fatalf("recovery: %v", err)
	}
}
