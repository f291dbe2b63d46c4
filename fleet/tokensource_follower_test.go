package fleet

import (
	"testing"
	"time"
)

// Several bridge instances share one login through a shared state
// directory: the owner refreshes and saves, the followers never spend the
// single-use refresh token; a follower whose token is due keeps it until
// the owner has saved a newer one, then uses that.
func TestTokenFollowerReadsWhatTheOwnerSaves(t *testing.T) {
	f := newAuthFixture(t)
	dir := t.TempDir() + "/state"
	first := f.srv.login()
	if err := NewFileTokenStore(dir).Save(first); err != nil {
		t.Fatal(err)
	}
	owner := f.source(t, NewFileTokenStore(dir), nil)
	follower := f.source(t, NewFileTokenStore(dir), func(o *TokenSourceOptions) { o.Follower = true })
	f.clock.Advance(7*time.Hour + 56*time.Minute) // 4 min left: due
	at, err := f.token(follower)
	if err != nil || at != first.AccessToken {
		t.Fatalf("before the owner refreshed: %v, same token %t", err, at == first.AccessToken)
	}
	if n := f.srv.calls(); n != 0 {
		t.Fatalf("the follower spent the refresh token (%d calls)", n)
	}
	fresh, err := f.token(owner)
	if err != nil || fresh == first.AccessToken || f.srv.calls() != 1 {
		t.Fatalf("owner refresh: %v, %d calls", err, f.srv.calls())
	}
	f.clock.Advance(time.Minute) // the follower's retry pause
	if at, err = f.token(follower); err != nil || at != fresh {
		t.Fatalf("after the owner saved: %v, owner's token %t", err, at == fresh)
	}
	if n := f.srv.calls(); n != 1 {
		t.Errorf("%d refresh calls for one login, want 1: refresh tokens are single-use", n)
	}
}
