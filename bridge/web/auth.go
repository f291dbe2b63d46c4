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
const pendingTTL = 10 * time.Minute

// pendingLogin is one login started with POST /auth/start.
type pendingLogin struct {
	req     *fleet.AuthRequest
	cfg     fleet.AuthConfig
	client  string
	started time.Time
}

// direct reports whether Tesla sends the browser back to this page: the
// configured redirect URI is this page's callback. Otherwise the user
// pastes the address Tesla sent the browser to.
func (l *Login) direct() bool {
	u, err := url.Parse(l.Auth.RedirectURI)
	return err == nil && strings.HasSuffix(u.Path, "/auth/callback")
}

// handleAuthStartGet answers a GET of the start address, which changes
// nothing: a link, a prefetch or an image tag cannot start a login.
func (s *Server) handleAuthStartGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	s.renderMessage(w, r, http.StatusMethodNotAllowed, "Start the login on the status page",
		"A Tesla login starts with the Log in with Tesla button on the status page, not by opening this address.")
}

// handleAuthStart starts a login: CSRF token, the access rules, the
// client's limits and the password are checked in that order, then Tesla's
// authorize page gets a fresh state and PKCE verifier kept here.
func (s *Server) handleAuthStart(w http.ResponseWriter, r *http.Request) {
	ri := infoOf(r)
	g := s.gate(ri)
	if g.Off != "" {
		s.renderMessage(w, r, http.StatusForbidden, "The login is off on this page", g.Off)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if !s.checkCSRF(r) {
		s.renderMessage(w, r, http.StatusForbidden, "This form has expired",
			"The form did not come from this page, or the bridge restarted since it was shown. Reload the status page and press the button again.")
		return
	}
	now := s.opts.Clock.Now()
	s.mu.Lock()
	c := s.tally(ri.client, now)
	if c.failures >= maxFailuresPerWin || c.starts >= maxStartsPerWin {
		wait := retryIn(c, now)
		s.mu.Unlock()
		s.renderMessage(w, r, http.StatusTooManyRequests, "Too many login attempts from here",
			"Try again in "+wait+". The limit counts per address (per Home Assistant user through Ingress); other clients are not affected.")
		return
	}
	s.mu.Unlock()
	if g.Password && !s.checkPassword(r.PostFormValue("password")) {
		s.mu.Lock()
		s.tally(ri.client, now).failures++
		s.mu.Unlock()
		s.opts.Logger.Warn().Str("client", ri.client).Msg("web login: wrong page password")
		s.renderMessage(w, r, http.StatusForbidden, "Wrong password",
			"The page password does not match [http] password_hash. Go back and try again.")
		return
	}
	cfg := s.opts.Login.Auth
	req, err := fleet.NewAuthRequest(cfg)
	if err != nil {
		s.renderMessage(w, r, http.StatusInternalServerError, "Cannot start the login", err.Error())
		return
	}
	s.mu.Lock()
	s.tally(ri.client, now).starts++
	s.addPending(req.State, &pendingLogin{req: req, cfg: cfg, client: ri.client, started: now})
	s.mu.Unlock()
	s.opts.Logger.Info().Str("client", ri.client).Bool("ingress", ri.ingress).Msg("web login: started")
	// Behind Ingress the page sits in Home Assistant's frame, where Tesla's
	// login cannot open; the next page opens it in a tab of its own.
	if s.opts.Login.direct() && !ri.ingress {
		http.Redirect(w, r, req.URL(), http.StatusSeeOther)
		return
	}
	s.pages.render(w, http.StatusOK, "start.html", startView{page: s.page(w, r, "Log in with Tesla"),
		AuthURL: req.URL(), RedirectURI: cfg.RedirectURI, Direct: s.opts.Login.direct()})
}

// addPending keeps a new login, dropping expired ones, the client's oldest
// beyond its share, and the oldest of all beyond the total. Callers hold s.mu.
func (s *Server) addPending(state string, p *pendingLogin) {
	var mine []string
	for k, o := range s.pending {
		switch {
		case p.started.Sub(o.started) >= pendingTTL:
			delete(s.pending, k)
		case o.client == p.client:
			mine = append(mine, k)
		}
	}
	for len(mine) >= maxOpenPerClient {
		s.dropOldest(mine)
		mine = s.stillPending(mine)
	}
	if len(s.pending) >= maxOpen {
		all := make([]string, 0, len(s.pending))
		for k := range s.pending {
			all = append(all, k)
		}
		s.dropOldest(all)
	}
	s.pending[state] = p
}

func (s *Server) dropOldest(states []string) {
	oldest := states[0]
	for _, k := range states[1:] {
		if s.pending[k].started.Before(s.pending[oldest].started) {
			oldest = k
		}
	}
	delete(s.pending, oldest)
}

func (s *Server) stillPending(states []string) []string {
	out := states[:0]
	for _, k := range states {
		if s.pending[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

// takePending removes and returns the login of a state, if it is still valid.
func (s *Server) takePending(state string) *pendingLogin {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[state]
	delete(s.pending, state)
	if p == nil || s.opts.Clock.Now().Sub(p.started) >= pendingTTL {
		return nil
	}
	return p
}

// handleAuthCallback redeems the code Tesla sent back with the browser.
// The state, known only to the browser that started the login, is what
// authorises it; it is single-use.
func (s *Server) handleAuthCallback(w http.ResponseWriter, r *http.Request) {
	p := s.takePending(r.URL.Query().Get("state"))
	if p == nil {
		s.renderMessage(w, r, http.StatusBadRequest, "This login has expired",
			"The page does not know this login attempt (it expired, was finished already, or the bridge restarted). Start it again on the status page.")
		return
	}
	s.finishLogin(w, r, p, r.URL.RawQuery)
}

// handleAuthPaste finishes a login from the address the user copied out of
// the tab Tesla redirected, for redirect URIs that do not lead back here.
func (s *Server) handleAuthPaste(w http.ResponseWriter, r *http.Request) {
	if g := s.gate(infoOf(r)); g.Off != "" {
		s.renderMessage(w, r, http.StatusForbidden, "The login is off on this page", g.Off)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !s.checkCSRF(r) {
		s.renderMessage(w, r, http.StatusForbidden, "This form has expired",
			"The form did not come from this page, or the bridge restarted since it was shown. Start the login again on the status page.")
		return
	}
	pasted := strings.TrimSpace(r.PostFormValue("redirected"))
	query := pasted
	if i := strings.IndexByte(query, '?'); i >= 0 {
		query = query[i+1:]
	}
	q, _ := url.ParseQuery(strings.SplitN(query, "#", 2)[0])
	p := s.takePending(q.Get("state"))
	if p == nil {
		s.renderMessage(w, r, http.StatusBadRequest, "This address does not finish a login",
			"Paste the whole address from the tab Tesla sent you to, starting with "+s.opts.Login.Auth.RedirectURI+
				"; it holds code= and state=. A login expires after 10 minutes and works once; start it again on the status page.")
		return
	}
	s.finishLogin(w, r, p, query)
}

// finishLogin exchanges the code and saves the token. Neither the code nor
// the token ever reaches a log line or the page.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, p *pendingLogin, redirectQuery string) {
	code, err := p.req.CodeFromRedirect(redirectQuery)
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Tesla did not authorise the bridge", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	tok, err := fleet.Exchange(ctx, p.cfg, p.req, code, s.opts.Clock.Now())
	if err != nil {
		s.opts.Logger.Warn().Err(err).Msg("web login: token exchange failed")
		s.renderMessage(w, r, http.StatusBadGateway, "The login failed", err.Error())
		return
	}
	if err := s.opts.Login.Save(ctx, tok); err != nil {
		s.opts.Logger.Error().Err(err).Msg("web login: cannot save the token")
		s.renderMessage(w, r, http.StatusInternalServerError, "The token could not be saved", err.Error())
		return
	}
	var granted []string
	if c, err := fleet.ParseClaims(tok.AccessToken); err == nil {
		granted = c.Scopes
	}
	s.opts.Logger.Info().Str("region", tok.Region).Int("scopes", len(granted)).Str("client", p.client).Msg("web login: new Tesla token saved")
	wanted := p.cfg.Scopes
	if len(wanted) == 0 {
		wanted = fleet.DefaultScopes()
	}
	s.pages.render(w, http.StatusOK, "login.html", loginView{page: s.page(w, r, "Logged in"), Region: tok.Region, Granted: granted,
		Missing: missingView(fleet.MissingScopes(granted, wanted)), Expiry: tok.Expiry})
}

// startView is the page between starting a login and Tesla's answer.
type startView struct {
	page
	AuthURL, RedirectURI string
	// Direct: Tesla sends the browser back to this page by itself.
	Direct bool
}

// loginView is the page shown after a successful login.
type loginView struct {
	page
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
