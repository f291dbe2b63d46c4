package fleet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A token that lives 10 minutes is refreshed about every 9 minutes (a
// tenth of its life ahead), not before almost every call as a fixed 5 min
// margin would; an 8 h token keeps the 5 min margin.
func TestTokenShortLivedRefreshedAtASaneRate(t *testing.T) {
	f := newAuthFixture(t)
	f.srv.life = 10 * time.Minute
	store := &authMemStore{tok: f.srv.login()}
	ts := f.source(t, store, nil)
	for range 2 * 60 * 6 { // two hours, a call every 10 s
		if _, err := f.token(ts); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10 * time.Second)
	}
	// 120 min / 9 min = 13.3; a 5 min margin would make it 24.
	if n := f.srv.calls(); n < 12 || n > 14 {
		t.Errorf("%d refreshes in 2 h of a 10 min token; want about 13", n)
	}
	if got := ts.margin(&Token{AccessToken: "opaque", ObtainedAt: f.clock.Now(), Expiry: f.clock.Now().Add(8 * time.Hour)}); got != MaxRefreshMargin {
		t.Errorf("margin of an 8 h token = %s, want %s", got, MaxRefreshMargin)
	}
}

// revokingAPI is a Fleet API that answers 401 to access tokens it was told
// are revoked, as Tesla does after a password change.
type revokingAPI struct {
	mu      sync.Mutex
	revoked map[string]bool
	hits    int
}

func (a *revokingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hits++
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	w.Header().Set("Content-Type", "application/json")
	if a.revoked[tok] {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"response":null,"error":"invalid bearer token"}`))
		return
	}
	_, _ = w.Write([]byte(`{"response":[],"count":0}`))
}

func (a *revokingAPI) revoke(tok string) {
	a.mu.Lock()
	a.revoked[tok] = true
	a.mu.Unlock()
}

func (a *revokingAPI) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits
}

// A 401 while the access token has hours left forces one refresh: when the
// refresh token still works the call is retried with the new token; when
// Tesla answers login_required the source turns dead at once (one
// OnLoginRequired), and later calls send nothing to the Fleet API.
func TestTokenRevokedMidLifeForcesOneRefresh(t *testing.T) {
	f := newAuthFixture(t)
	first := f.srv.login()
	store := &authMemStore{tok: first}
	var dead atomic.Int32
	ts := f.source(t, store, func(o *TokenSourceOptions) { o.OnLoginRequired = func(error) { dead.Add(1) } })
	api := &revokingAPI{revoked: map[string]bool{}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, TokenSource: ts, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Revoked access token, live refresh token: one refresh, one retry, success.
	api.revoke(first.AccessToken)
	if _, err := c.Vehicles(ctx); err != nil {
		t.Fatalf("after a forced refresh: %v", err)
	}
	if f.srv.calls() != 1 || api.count() != 2 {
		t.Fatalf("refreshes = %d, api hits = %d; want 1 and 2", f.srv.calls(), api.count())
	}

	// Password changed: every token dies. The next call learns it at once.
	cur := store.current()
	f.srv.kill(cur.RefreshToken)
	api.revoke(cur.AccessToken)
	f.clock.Advance(time.Minute)
	_, err = c.Vehicles(ctx)
	if !errors.Is(err, ErrLoginRequired) || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want a 401 that says login_required", err)
	}
	if dead.Load() != 1 {
		t.Fatalf("OnLoginRequired calls = %d, want 1", dead.Load())
	}
	hits, refreshes := api.count(), f.srv.calls()
	for range 5 {
		if _, err := c.Vehicles(ctx); !errors.Is(err, ErrLoginRequired) {
			t.Fatalf("err = %v, want login_required", err)
		}
	}
	if api.count() != hits || f.srv.calls() != refreshes {
		t.Errorf("a dead login still sent %d API calls and %d refreshes; want none", api.count()-hits, f.srv.calls()-refreshes)
	}
}

// A 401 that a fresh token does not cure refreshes at most once a minute.
func TestTokenForcedRefreshSpaced(t *testing.T) {
	f := newAuthFixture(t)
	store := &authMemStore{tok: f.srv.login()}
	ts := f.source(t, store, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"response":null,"error":"mobile_access_disabled"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, TokenSource: ts, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := c.Vehicles(context.Background()); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v", err)
		}
		f.clock.Advance(10 * time.Second)
	}
	// 100 s of calls: the first 401 refreshes, its retry refreshes no more,
	// and one more refresh is allowed after a minute.
	if n := f.srv.calls(); n != 2 {
		t.Errorf("%d refreshes in 100 s of 401s, want 2", n)
	}
}
