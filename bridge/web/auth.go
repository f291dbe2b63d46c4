package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// A login started on the page stays valid as long as Tesla's codes do.
const (
	pendingTTL = 10 * time.Minute
	maxPending = 16
)

// redirectURI is the configured one when it points at /auth/callback, else
// this server's own callback as the browser reached it.
func (s *Server) redirectURI(r *http.Request) string {
	if u, err := url.Parse(s.opts.Login.Auth.RedirectURI); err == nil && strings.HasSuffix(u.Path, "/auth/callback") {
		return u.String()
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/auth/callback"
}

// handleAuthStart sends the browser to Tesla's authorize page with a fresh
// state and PKCE verifier kept here until the callback.
func (s *Server) handleAuthStart(w http.ResponseWriter, r *http.Request) {
	cfg := s.opts.Login.Auth
	cfg.RedirectURI = s.redirectURI(r)
	req, err := fleet.NewAuthRequest(cfg)
	if err != nil {
		s.renderMessage(w, http.StatusInternalServerError, "Cannot start the login", err.Error(), false)
		return
	}
	now := s.opts.Clock.Now()
	s.mu.Lock()
	for k, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, k)
		}
	}
	if len(s.pending) >= maxPending {
		s.mu.Unlock()
		s.renderMessage(w, http.StatusTooManyRequests, "Too many logins in progress",
			"Finish or abandon the open Tesla logins, then try again in a few minutes.", false)
		return
	}
	s.pending[req.State] = &pendingLogin{req: req, cfg: cfg, expires: now.Add(pendingTTL)}
	s.mu.Unlock()
	http.Redirect(w, r, req.URL(), http.StatusFound)
}

// handleAuthCallback redeems the code Tesla sent back and saves the token.
// Neither the code nor the token ever reaches a log line or the page.
func (s *Server) handleAuthCallback(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	s.mu.Lock()
	p := s.pending[state]
	delete(s.pending, state)
	s.mu.Unlock()
	if p == nil || s.opts.Clock.Now().After(p.expires) {
		s.renderMessage(w, http.StatusBadRequest, "This login has expired",
			"The page does not know this login attempt (it expired or the bridge restarted). Start it again.", true)
		return
	}
	code, err := p.req.CodeFromRedirect(r.URL.RawQuery)
	if err != nil {
		s.renderMessage(w, http.StatusBadRequest, "Tesla did not authorise the bridge", err.Error(), true)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	tok, err := fleet.Exchange(ctx, p.cfg, p.req, code, s.opts.Clock.Now())
	if err != nil {
		s.opts.Logger.Warn().Err(err).Msg("web login: token exchange failed")
		s.renderMessage(w, http.StatusBadGateway, "The login failed", err.Error(), true)
		return
	}
	if err := s.opts.Login.Save(ctx, tok); err != nil {
		s.opts.Logger.Error().Err(err).Msg("web login: cannot save the token")
		s.renderMessage(w, http.StatusInternalServerError, "The token could not be saved", err.Error(), true)
		return
	}
	var granted []string
	if c, err := fleet.ParseClaims(tok.AccessToken); err == nil {
		granted = c.Scopes
	}
	s.opts.Logger.Info().Str("region", tok.Region).Int("scopes", len(granted)).Msg("web login: new Tesla token saved")
	wanted := p.cfg.Scopes
	if len(wanted) == 0 {
		wanted = fleet.DefaultScopes()
	}
	s.pages.render(w, http.StatusOK, "login.html", loginView{Region: tok.Region, Granted: granted,
		Missing: missingView(fleet.MissingScopes(granted, wanted)), Expiry: tok.Expiry})
}

// loginView is the page shown after a successful login.
type loginView struct {
	Region  string
	Granted []string
	Missing []missingScope
	Expiry  time.Time
}

type missingScope struct{ Scope, Title, Disables string }

func missingView(scopes []string) []missingScope {
	out := make([]missingScope, 0, len(scopes))
	for _, s := range scopes {
		m := missingScope{Scope: s}
		if si, ok := fleet.LookupScope(s); ok {
			m.Title, m.Disables = si.Title, si.Disables
		}
		out = append(out, m)
	}
	return out
}
