package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// tokenCheckInterval is how often the bridge looks at the token file (a
// new login) and at the token's expiry (refresh ahead of time). Polling the
// file's mtime works everywhere, containers included, where neither inotify
// on a bind mount nor signals to PID 1 can be relied on; SIGHUP triggers
// the same check at once.
const tokenCheckInterval = 30 * time.Second

// account is the token source with everything around it: the store, the
// state the bridge publishes, and the file watcher.
type account struct {
	cfg     *config.Config
	store   *fleet.FileTokenStore
	ts      *fleet.TokenSource
	tracker *accountTracker
	log     zerolog.Logger
	// clock drives the watcher's 30 s ticks and the token's expiry.
	clock clock.Clock
	// tick drives the watcher (tests inject their own); nil = a 30 s tick
	// on clock.
	tick <-chan time.Time
}

// openAccount loads the token store and builds the token source; a missing
// token is not an error: the bridge starts and waits for `login`.
func openAccount(cfg *config.Config, configPath string, clk clock.Clock, log zerolog.Logger) (*account, error) {
	a := &account{cfg: cfg, store: fleet.NewFileTokenStore(cfg.TokenDir()), clock: clock.OrReal(clk), log: log.With().Str("component", "token").Logger()}
	a.tracker = newAccountTracker(cfg, configPath, a.log)
	ac := authConfig(cfg)
	ts, err := fleet.NewTokenSource(fleet.TokenSourceOptions{
		Store:    a.store,
		ClientID: cfg.Tesla.ClientID,
		TokenURL: ac.TokenURL,
		Clock:    a.clock,
		Logger:   a.log,
		OnRefresh: func(t *fleet.Token, c *fleet.Claims) {
			a.tracker.tokenChanged(t, c, "refresh")
		},
		OnLoginRequired: a.tracker.loginRequired,
		// Refresh tokens are single-use: of several instances, the first
		// refreshes and the others read what it saved.
		Follower: cfg.Shard.Index > 0,
	})
	if err != nil {
		return nil, err
	}
	a.ts = ts
	if t := ts.Current(); t != nil {
		c, _ := fleet.ParseClaims(t.AccessToken)
		a.tracker.tokenChanged(t, c, "")
	} else {
		_, why := a.store.Load() // no file yet, or a corrupt one: the reason to show
		a.tracker.noToken(why)
	}
	return a, nil
}

// attach connects the tracker to the bridge: the account's state and the
// events so far go to bridge/status, bridge/info and bridge/event.
func (a *account) attach(b *bridge.Bridge) { a.tracker.attach(b) }

// Run watches the token file (a new login) and the token's expiry
// (refresh ahead of time) until ctx ends; SIGHUP checks at once.
func (a *account) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := a.tick
	if tick == nil {
		tick = clock.Tick(ctx, a.clock, tokenCheckInterval)
	}
	// A panic in a reload must not end the process, nor the watching:
	// report it and watch on.
	for ctx.Err() == nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					a.log.Error().Interface("panic", r).Msg("token watcher panicked; recovered")
				}
			}()
			a.watch(ctx, tick, hup)
		}()
	}
	return nil
}

// watch reloads the token when `login` wrote a new one and keeps the token
// fresh even while no poll asks for it.
func (a *account) watch(ctx context.Context, tick <-chan time.Time, hup <-chan os.Signal) {
	var lastMod time.Time
	var lastSize int64 = -1
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-hup:
			forced = true
		}
		if fi, err := os.Stat(a.store.Path()); err == nil && (forced || !fi.ModTime().Equal(lastMod) || fi.Size() != lastSize) {
			lastMod, lastSize = fi.ModTime(), fi.Size()
			a.reloadIfNew()
		}
		if a.ts.Current() != nil {
			// Refreshes only when the token is near its end; a no-op otherwise.
			_, _ = a.ts.TokenContext(ctx)
		}
	}
}

// savePageLogin stores the token of a login made on the status page and
// takes it into use at once. It replaces whatever the file held, a corrupt
// token included.
func (a *account) savePageLogin(_ context.Context, t *fleet.Token) error {
	if err := a.store.Save(t); err != nil {
		return err
	}
	a.reloadIfNew()
	return nil
}

// reloadIfNew reloads when the file holds another token than memory; our
// own refreshes rewrite the file with what is already in memory.
func (a *account) reloadIfNew() {
	onDisk, err := a.store.Load()
	if err != nil {
		if !errors.Is(err, fleet.ErrNoToken) {
			a.log.Warn().Err(err).Msg("cannot read the token file")
		}
		return
	}
	if cur := a.ts.Current(); cur != nil && cur.RefreshToken == onDisk.RefreshToken && cur.AccessToken == onDisk.AccessToken {
		return
	}
	if err := a.ts.Reload(); err != nil {
		a.log.Warn().Err(err).Msg("cannot reload the token")
		return
	}
	t := a.ts.Current()
	c, _ := fleet.ParseClaims(t.AccessToken)
	a.log.Info().Msg("new token from tesla2mqtt login picked up")
	a.tracker.tokenChanged(t, c, "login")
}

// resolveRegion finds the Fleet API host: the configured one, else the
// token's (ou_code), confirmed with /api/1/users/region. A 421 is followed
// once, only to a Tesla host or the configured one: the bearer token goes
// wherever the base URL points. A Tesla host found this way is remembered
// in the token file.
func (a *account) resolveRegion(ctx context.Context, cfg *config.Config) string {
	tok := a.ts.Current()
	base := apiBaseURL(cfg, tok)
	a.tracker.setAPIBase(base)
	if tok == nil {
		return base
	}
	client, err := fleet.New(fleet.Options{BaseURL: base, TokenSource: a.ts, Timeout: 15 * time.Second,
		Logger: a.log})
	if err != nil {
		return base
	}
	reg, err := client.UserRegion(ctx)
	var ae *fleet.APIError
	if errors.As(err, &ae) && errors.Is(err, fleet.ErrWrongRegion) && ae.BaseURL != "" {
		if !allowedAPIHost(ae.BaseURL, cfg) {
			a.log.Warn().Str("host", ae.BaseURL).Msg("Tesla sent the account to a host that is not Tesla's; not following")
			return base
		}
		client.SetBaseURL(ae.BaseURL)
		reg, err = client.UserRegion(ctx)
	}
	if err != nil {
		a.log.Warn().Err(err).Str("api", client.BaseURL()).Msg("cannot confirm the region with /api/1/users/region; using the token's")
		base = client.BaseURL()
		a.tracker.setAPIBase(base)
		return base
	}
	found := strings.TrimRight(reg.FleetAPIBaseURL, "/")
	if found == "" || !allowedAPIHost(found, cfg) {
		found = client.BaseURL()
	}
	if cfg.Tesla.APIBaseURL != "" {
		found = base // the override wins; the answer only confirms the region
	}
	a.tracker.setRegion(strings.ToLower(reg.Region), found)
	if cur := a.ts.Current(); cur != nil && cfg.Tesla.APIBaseURL == "" && cur.BaseURL != found {
		cur.BaseURL = found
		if r := strings.ToLower(reg.Region); r != "" {
			cur.Region = r
		}
		if err := a.store.Save(cur); err == nil {
			_ = a.ts.Reload()
		}
	}
	if found != base {
		a.log.Info().Str("api", found).Msg("the account lives in another region; using its host")
	}
	return found
}

// allowedAPIHost accepts Tesla's hosts and the configured api_base_url's.
func allowedAPIHost(raw string, cfg *config.Config) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	if u.Scheme == "https" && (strings.HasSuffix(h, ".tesla.com") || strings.HasSuffix(h, ".tesla.cn")) {
		return true
	}
	if cfg.Tesla.APIBaseURL != "" {
		if c, err := url.Parse(cfg.Tesla.APIBaseURL); err == nil && strings.EqualFold(c.Host, u.Host) {
			return true
		}
	}
	return false
}

// accountTracker is the contract.AccountStatus of a running bridge: it turns
// the token source's callbacks into account state and bridge/event
// messages. Events before the bridge exists are kept and published when it
// is attached.
type accountTracker struct {
	log        zerolog.Logger
	configPath string
	clientID   string

	mu      sync.Mutex
	st      contract.AccountState
	known   bool // st.GrantedScopes comes from a token
	b       *bridge.Bridge
	pending []contract.AccountEvent
}

func newAccountTracker(cfg *config.Config, configPath string, log zerolog.Logger) *accountTracker {
	return &accountTracker{log: log, configPath: configPath, clientID: cfg.Tesla.ClientID, st: contract.AccountState{
		WantedScopes: append([]string(nil), cfg.Tesla.Scopes...),
		LoginCommand: "tesla2mqtt login -c " + configPath,
		ConsentURL:   fleet.ConsentURL(cfg.Tesla.ClientID, ""),
	}}
}

// AccountState implements contract.AccountStatus.
func (a *accountTracker) AccountState() contract.AccountState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	st.GrantedScopes = append([]string(nil), a.st.GrantedScopes...)
	return st
}

// granted feeds bridge.Options.GrantedScopes.
func (a *accountTracker) granted() []string { return a.AccountState().GrantedScopes }

func (a *accountTracker) setAPIBase(base string) {
	a.mu.Lock()
	a.st.APIBaseURL = base
	a.mu.Unlock()
}

func (a *accountTracker) setRegion(region, base string) {
	a.mu.Lock()
	if region != "" {
		a.st.Region = region
	}
	a.st.APIBaseURL = base
	a.mu.Unlock()
}

// noToken marks the start without a usable token; why is the store's
// reason (a corrupt file), or nil/ErrNoToken when there is none yet.
func (a *accountTracker) noToken(why error) {
	reason := fleet.ErrNoToken.Error()
	if why != nil && !errors.Is(why, fleet.ErrNoToken) {
		reason = why.Error()
	}
	a.mu.Lock()
	a.st.LoginRequired, a.st.LoginError = true, reason
	a.mu.Unlock()
	a.emit(contract.AccountEvent{Type: contract.EventLoginRequired, Message: reason,
		LoginCommand: a.loginCommand()})
}

// loginRequired is the token source's OnLoginRequired.
func (a *accountTracker) loginRequired(err error) {
	a.mu.Lock()
	a.st.LoginRequired, a.st.LoginError = true, err.Error()
	a.mu.Unlock()
	a.emit(contract.AccountEvent{Type: contract.EventLoginRequired, Message: err.Error(),
		LoginCommand: a.loginCommand(), ConsentURL: fleet.ConsentURL(a.clientID, "")})
}

// setLoginCommand replaces what bridge/status, the login_required event and
// the status page tell the user to do: in the add-on there is no shell to
// run 'tesla2mqtt login -c /data/options.json' in, the page logs in.
func (a *accountTracker) setLoginCommand(cmd string) {
	a.mu.Lock()
	a.st.LoginCommand = cmd
	for i := range a.pending {
		if a.pending[i].LoginCommand != "" {
			a.pending[i].LoginCommand = cmd
		}
	}
	a.mu.Unlock()
}

func (a *accountTracker) loginCommand() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.LoginCommand
}

// tokenChanged records a refreshed or newly logged-in token. source is
// "refresh", "login" or "" for the token found at start (no event).
func (a *accountTracker) tokenChanged(t *fleet.Token, c *fleet.Claims, source string) {
	var scopes []string
	if c != nil {
		scopes = c.Scopes
	}
	a.mu.Lock()
	old, hadScopes := a.st.GrantedScopes, a.known
	a.st.GrantedScopes, a.known = append([]string(nil), scopes...), true
	a.st.TokenExpiry = t.Expiry
	a.st.LoginRequired, a.st.LoginError = false, ""
	if t.Region != "" {
		a.st.Region = t.Region
	}
	missing := fleet.MissingScopes(scopes, a.st.WantedScopes)
	a.mu.Unlock()
	if source == "" {
		return
	}
	// MissingScopes(have, want) = want − have.
	added, removed := fleet.MissingScopes(old, scopes), fleet.MissingScopes(scopes, old)
	if hadScopes && (len(added) > 0 || len(removed) > 0) {
		a.log.Warn().Strs("added", added).Strs("removed", removed).Msg("granted scopes changed")
		a.emit(contract.AccountEvent{Type: contract.EventScopesChanged, Added: added, Removed: removed, Missing: missing,
			ConsentURL: fleet.ConsentURL(a.clientID, "")})
	} else if !hadScopes {
		a.emit(contract.AccountEvent{Type: contract.EventScopesChanged, Added: scopes, Missing: missing})
	}
	a.emit(contract.AccountEvent{Type: contract.EventTokenRefreshed, Source: source,
		Expiry: t.Expiry.UTC().Format(time.RFC3339), Missing: missing})
}

// emit publishes now or, before attach, later.
func (a *accountTracker) emit(ev contract.AccountEvent) {
	a.mu.Lock()
	b := a.b
	if b == nil {
		a.pending = append(a.pending, ev)
	}
	a.mu.Unlock()
	if b != nil {
		b.PublishAccountEvent(ev)
	}
}

// attach publishes the state and the events that happened before the
// bridge existed.
func (a *accountTracker) attach(b *bridge.Bridge) {
	a.mu.Lock()
	a.b = b
	pending := a.pending
	a.pending = nil
	a.mu.Unlock()
	b.SetAccount(a)
	for _, ev := range pending {
		b.PublishAccountEvent(ev)
	}
}
