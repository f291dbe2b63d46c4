package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// TokenSourceOptions configure a TokenSource.
type TokenSourceOptions struct {
	// Store holds the token; every rotated token is saved here before use. Required.
	Store TokenStore
	// ClientID is the app's client id, sent with every refresh. Required.
	ClientID string
	// TokenURL defaults to DefaultTokenURL.
	TokenURL string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// RefreshBefore: refresh once the access token has less than this left,
	// so no request goes out with a token about to die. Zero takes a tenth
	// of the token's lifetime, at most MaxRefreshMargin: a fixed 5 min
	// margin would refresh a token that lives 5 min before every call.
	RefreshBefore time.Duration
	// Clock decides when the access token is due (default: the wall clock).
	Clock clock.Clock
	// Logger gets "token refreshed" with the expiry, never a token. The
	// caller adds the component field.
	Logger zerolog.Logger
	// OnRefresh is called after each saved refresh, e.g. to rebuild the
	// vehicle-command Account and re-check the granted scopes. c is nil when
	// the access token's claims cannot be read. Optional.
	OnRefresh func(t *Token, c *Claims)
	// OnLoginRequired is called once when Tesla rejects the refresh token
	// for good, e.g. to publish a "login required" problem. Optional.
	OnLoginRequired func(err error)
	// Follower: another process refreshes this login and saves it in
	// Store (the first of several bridge instances sharing a state
	// directory). Refresh tokens are single-use, so a follower never spends
	// one: when its access token is due it reads the store again, and
	// keeps the current token (retrying every minute) until the owner has
	// saved a newer one.
	Follower bool
}

// retryPause spaces refresh attempts after a transient failure while the
// old access token is still usable, so a flapping token endpoint is not
// hammered by every API call.
const retryPause = time.Minute

// MaxRefreshMargin caps the proportional refresh margin: an 8 h token is
// refreshed 5 min before its end, a 10 min token 1 min before.
const MaxRefreshMargin = 5 * time.Minute

// forcePause spaces refreshes forced by 401s: a 401 that a fresh token does
// not cure (mobile access disabled) must not refresh at every call.
const forcePause = time.Minute

// TokenSource hands out the user's access token and refreshes it before it
// expires. Tesla refresh tokens are single use and rotate, so it serialises
// refreshes and saves each rotated token before handing it out: a crash can
// then lose at most a token Tesla still honours for 24 h.
//
// It implements oauth2.TokenSource and is safe for concurrent use.
type TokenSource struct {
	opts TokenSourceOptions
	log  zerolog.Logger
	sem  chan struct{} // held by the one caller that refreshes or reloads

	mu        sync.Mutex
	tok       *Token
	dead      error     // set after login_required; cleared by Reload
	nextTry   time.Time // no refresh before this after a transient failure
	loadError error     // why tok is nil (ErrNoToken, ErrCorruptToken)
	forcedAt  time.Time // the last refresh a 401 forced (ForceRefresh)
	// marginOf is the access token whose refresh margin marginVal holds.
	marginOf  string
	marginVal time.Duration
}

var (
	_ oauth2.TokenSource = (*TokenSource)(nil)
	// Client.token relies on it to bound a refresh by the request's context.
	_ contextTokenSource = (*TokenSource)(nil)
)

// NewTokenSource loads the stored token. An empty store (ErrNoToken) or a
// corrupt token file (ErrCorruptToken) is not an error: Token then returns
// that error until Reload finds the token that `tesla2mqtt login` or the
// status page wrote, so the bridge can start, say why, and wait for a
// login instead of exiting into a restart loop.
func NewTokenSource(opts TokenSourceOptions) (*TokenSource, error) {
	if opts.Store == nil {
		return nil, errors.New("token source: a store is required")
	}
	if opts.ClientID == "" {
		return nil, errors.New("token source: a client id is required")
	}
	opts.TokenURL = orDefault(opts.TokenURL, DefaultTokenURL)
	opts.Clock = clock.OrReal(opts.Clock)
	s := &TokenSource{opts: opts, log: opts.Logger, sem: make(chan struct{}, 1)}
	t, err := opts.Store.Load()
	if err != nil && !errors.Is(err, ErrNoToken) && !errors.Is(err, ErrCorruptToken) {
		return nil, fmt.Errorf("token source: %w", err)
	}
	s.tok, s.loadError = t, err
	return s, nil
}

// Token returns a valid access token (oauth2.TokenSource).
func (s *TokenSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext is Token with a context bounding the wait for, and the
// duration of, a refresh.
func (s *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if t, ok, err := s.cached(); ok {
		return t, err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Callbacks run after the semaphore is released so they may call back in.
	var after func()
	defer func() {
		<-s.sem
		if after != nil {
			after()
		}
	}()
	// Another caller may have refreshed while we waited.
	if t, ok, err := s.cached(); ok {
		return t, err
	}
	var t *oauth2.Token
	var err error
	t, after, err = s.refresh(ctx)
	return t, err
}

// cached answers without a refresh when it can: the token is fresh, the
// source is dead or empty, or a retry pause is running and the old token
// still works.
func (s *TokenSource) cached() (*oauth2.Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	switch {
	case s.dead != nil:
		return nil, true, s.dead
	case s.tok == nil:
		return nil, true, s.loadError
	case s.tok.Expiry.Sub(now) > s.margin(s.tok):
		return s.tok.OAuth2(), true, nil
	case now.Before(s.nextTry) && now.Before(s.tok.Expiry):
		return s.tok.OAuth2(), true, nil
	}
	return nil, false, nil
}

// margin is how long before t's expiry it is refreshed: RefreshBefore when
// set, else a tenth of its lifetime, capped at MaxRefreshMargin. The
// lifetime is the access token's own (exp - iat), else the time from
// ObtainedAt to Expiry, else Tesla's 8 h. Callers hold s.mu; the answer is
// kept per access token, so the claims are decoded once.
func (s *TokenSource) margin(t *Token) time.Duration {
	if s.opts.RefreshBefore > 0 {
		return s.opts.RefreshBefore
	}
	if s.marginOf == t.AccessToken && s.marginVal > 0 {
		return s.marginVal
	}
	life := 8 * time.Hour
	if c, err := ParseClaims(t.AccessToken); err == nil && !c.IssuedAt.IsZero() && c.ExpiresAt.After(c.IssuedAt) {
		life = c.ExpiresAt.Sub(c.IssuedAt)
	} else if !t.ObtainedAt.IsZero() && t.Expiry.After(t.ObtainedAt) {
		life = t.Expiry.Sub(t.ObtainedAt)
	}
	s.marginOf, s.marginVal = t.AccessToken, min(life/10, MaxRefreshMargin)
	return s.marginVal
}

// ForceRefresh refreshes now because the Fleet API answered 401 to
// rejected, an access token that has not expired by our clock: Tesla
// revoked it (password change, consent withdrawn). If Tesla refuses the
// refresh token too, the source turns dead and OnLoginRequired fires, so
// the revocation is reported at once instead of when the token would have
// expired. It reports whether a new access token is ready to retry with.
// A token already replaced since rejected needs no refresh, and forced
// refreshes are spaced by a minute so a 401 that a new token does not cure
// cannot make every call a refresh.
func (s *TokenSource) ForceRefresh(ctx context.Context, rejected string) (bool, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	var after func()
	defer func() {
		<-s.sem
		if after != nil {
			after()
		}
	}()
	s.mu.Lock()
	now := s.opts.Clock.Now()
	switch {
	case s.dead != nil:
		s.mu.Unlock()
		return false, s.dead
	case s.tok == nil:
		s.mu.Unlock()
		return false, s.loadError
	case s.tok.AccessToken != rejected:
		s.mu.Unlock()
		return true, nil // another caller refreshed meanwhile
	case !s.forcedAt.IsZero() && now.Sub(s.forcedAt) < forcePause:
		s.mu.Unlock()
		return false, nil
	}
	s.forcedAt = now
	s.mu.Unlock()
	s.log.Warn().Msg("the Fleet API refused the access token before its expiry; refreshing it now")
	t, cb, err := s.refresh(ctx)
	after = cb
	if err != nil {
		return false, err
	}
	return t != nil && t.AccessToken != rejected, nil
}

// refresh runs with the semaphore held. It returns the callback to run once
// the semaphore is released.
func (s *TokenSource) refresh(ctx context.Context) (*oauth2.Token, func(), error) {
	s.mu.Lock()
	old := *s.tok
	s.mu.Unlock()
	now := s.opts.Clock.Now()
	if s.opts.Follower {
		return s.follow(now, &old)
	}

	used := old.RefreshToken
	nt, err := s.redeem(ctx, used)
	if errors.Is(err, ErrLoginRequired) && old.PreviousRefreshToken != "" && old.PreviousRefreshToken != used {
		// The current refresh token may never have reached Tesla's records
		// as the lineage head (a save that raced a crash); the previous one
		// is still honoured for 24 h after its use.
		s.log.Warn().Msg("refresh token refused; retrying with the previous one (24 h grace)")
		used = old.PreviousRefreshToken
		nt, err = s.redeem(ctx, used)
	}
	if errors.Is(err, ErrLoginRequired) {
		err = fmt.Errorf("token refresh: %w", err)
		s.mu.Lock()
		s.dead = err
		s.mu.Unlock()
		s.log.Error().Err(err).Msg("refresh token rejected; log in again")
		var after func()
		if s.opts.OnLoginRequired != nil {
			after = func() { s.opts.OnLoginRequired(err) }
		}
		return nil, after, err
	}
	if err != nil {
		return s.fallback(now, &old, fmt.Errorf("token refresh: %w", err))
	}

	if nt.RefreshToken == "" {
		nt.RefreshToken = used // no rotation offered: keep using the old one
	}
	nt.PreviousRefreshToken = used
	if nt.Region == "" {
		nt.Region, nt.BaseURL = old.Region, old.BaseURL
	}
	// Persist before use: if this fails, the new refresh token is lost, but
	// the one just used stays valid for 24 h, so the old token stays in
	// memory and the next attempt refreshes with it again.
	if err := s.opts.Store.Save(nt); err != nil {
		s.log.Error().Err(err).Msg("cannot save the refreshed token; keeping the old one")
		return nil, nil, fmt.Errorf("token refresh: %w", err)
	}
	s.mu.Lock()
	s.tok, s.nextTry = nt, time.Time{}
	s.mu.Unlock()
	s.log.Info().Time("expiry", nt.Expiry).Msg("token refreshed")

	var after func()
	if s.opts.OnRefresh != nil {
		c, cerr := ParseClaims(nt.AccessToken)
		if cerr != nil {
			s.log.Warn().Err(cerr).Msg("cannot read the access token's claims")
		}
		cp := *nt
		after = func() { s.opts.OnRefresh(&cp, c) }
	}
	return nt.OAuth2(), after, nil
}

// follow is a follower's refresh: the token the owner saved, if it is
// newer than the one in memory; else the current one until it expires.
func (s *TokenSource) follow(now time.Time, old *Token) (*oauth2.Token, func(), error) {
	nt, err := s.opts.Store.Load()
	if err != nil {
		return s.fallback(now, old, fmt.Errorf("token reload: %w", err))
	}
	if nt.AccessToken == old.AccessToken || !nt.Expiry.After(old.Expiry) {
		return s.fallback(now, old, errors.New("token reload: the owning instance has not saved a newer token yet"))
	}
	s.mu.Lock()
	s.tok, s.nextTry = nt, time.Time{}
	s.mu.Unlock()
	s.log.Info().Time("expiry", nt.Expiry).Msg("token reloaded from the owning instance")
	var after func()
	if s.opts.OnRefresh != nil {
		c, _ := ParseClaims(nt.AccessToken)
		cp := *nt
		after = func() { s.opts.OnRefresh(&cp, c) }
	}
	return nt.OAuth2(), after, nil
}

// fallback handles a transient refresh failure: a still-valid access token
// is handed out and the next attempt waits retryPause.
func (s *TokenSource) fallback(now time.Time, old *Token, err error) (*oauth2.Token, func(), error) {
	if now.Before(old.Expiry) {
		s.mu.Lock()
		s.nextTry = now.Add(retryPause)
		s.mu.Unlock()
		s.log.Warn().Err(err).Time("expiry", old.Expiry).Msg("token refresh failed; using the current token meanwhile")
		return old.OAuth2(), nil, nil
	}
	s.log.Error().Err(err).Msg("token refresh failed")
	return nil, nil, err
}

// redeem spends refreshToken once, through x/oauth2. The TokenSource it
// builds serves this one call and is dropped: x/oauth2's refreshing source
// hands a rotated token straight to its caller and keeps the new refresh
// token only in memory, with no hook to save it first. Here refresh, the
// caller, saves the answer before anything uses it; a crash in between
// loses nothing the store does not have, because the token just spent
// stays valid for Tesla's 24 h grace.
func (s *TokenSource) redeem(ctx context.Context, refreshToken string) (*Token, error) {
	conf := &oauth2.Config{ClientID: s.opts.ClientID,
		Endpoint: oauth2.Endpoint{TokenURL: s.opts.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	ctx, cancel := tokenContext(ctx, s.opts.HTTPClient)
	defer cancel()
	now := s.opts.Clock.Now()
	// No access token: x/oauth2 sees an invalid token and refreshes at once.
	ot, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, tokenError(err, refreshToken)
	}
	return tokenFromOAuth2(ot, now), nil
}

// Reload re-reads the store, e.g. after `tesla2mqtt login` wrote a new
// token (the bridge calls it when the file changes or on SIGHUP). It clears
// a login-required state. On error the current state is kept.
func (s *TokenSource) Reload() error {
	s.sem <- struct{}{} // wait for an in-flight refresh, whose save would race ours
	defer func() { <-s.sem }()
	t, err := s.opts.Store.Load()
	if err != nil {
		return fmt.Errorf("token reload: %w", err)
	}
	s.mu.Lock()
	s.tok, s.dead, s.loadError, s.nextTry = t, nil, nil, time.Time{}
	s.mu.Unlock()
	s.log.Info().Time("expiry", t.Expiry).Msg("token reloaded")
	return nil
}

// Current returns a copy of the token in memory, or nil before a login.
func (s *TokenSource) Current() *Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil
	}
	cp := *s.tok
	return &cp
}
