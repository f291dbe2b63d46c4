package fleet

import (
	"testing"
	"time"
)

// TestTokenExpiryAcrossMidnightAndMonthEnd: an access token issued in the
// evening whose eight hours end after midnight, at a month's or a year's
// end, is refreshed exactly once, RefreshBefore ahead of its expiry, and
// the new token is used from then on.
func TestTokenExpiryAcrossMidnightAndMonthEnd(t *testing.T) {
	for _, issued := range []time.Time{
		time.Date(2026, 11, 30, 20, 30, 0, 0, time.UTC), // November into December
		time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC),  // New Year's Eve
		time.Date(2028, 2, 28, 23, 15, 0, 0, time.UTC),  // into a leap day
	} {
		t.Run(issued.Format("2006-01-02T15:04"), func(t *testing.T) {
			f := newAuthFixture(t)
			f.clock.Set(issued)
			first := f.srv.login()
			store := &authMemStore{tok: first}
			var refreshedAt []time.Time
			ts := f.source(t, store, func(o *TokenSourceOptions) {
				o.OnRefresh = func(*Token, *Claims) { refreshedAt = append(refreshedAt, f.clock.Now()) }
			})
			// A call a minute, like the connectivity check, for 10 hours.
			var last string
			for end := issued.Add(10 * time.Hour); f.clock.Now().Before(end); f.clock.Advance(time.Minute) {
				at, err := f.token(ts)
				if err != nil {
					t.Fatalf("at %v: %v", f.clock.Now(), err)
				}
				last = at
			}
			want := first.Expiry.Add(-5 * time.Minute)
			if len(refreshedAt) != 1 || !refreshedAt[0].Equal(want) || f.srv.calls() != 1 {
				t.Fatalf("refreshed at %v (%d calls), want once at %v", refreshedAt, f.srv.calls(), want)
			}
			if last == first.AccessToken || store.current().AccessToken != last {
				t.Error("the refreshed token is not the one in use and in the store")
			}
			if d := first.Expiry.Day(); d == issued.Day() {
				t.Fatalf("test setup: the token does not cross midnight (%v)", first.Expiry)
			}
		})
	}
}
