// Package web serves the bridge's own HTTP endpoints: the status page (/),
// /healthz for container and systemd health checks, /metrics for
// Prometheus, and a Tesla login started from the page (POST /auth/start →
// Tesla → /auth/callback, or the address Tesla sent the browser to pasted
// into POST /auth/paste), so a container user never needs the CLI.
//
// It renders contract.Status with html/template and embedded assets. The one
// script, static/refresh.js, only swaps in a fresh copy of the page; the
// page works without it. The server holds no state of its own beyond
// pending logins, a per-client tally of login attempts and a per-process
// key for CSRF tokens.
//
// Who may start a login is decided per request (see Access): a loopback
// listener, a configured password, or Home Assistant's Ingress proxy.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

//go:embed templates/*.html static/*
var assets embed.FS

// StatusSource is what the page renders; *bridge.Bridge implements it.
type StatusSource interface {
	Status() contract.Status
}

// Options configure a Server.
type Options struct {
	Bridge StatusSource
	// MQTTConnected reports the broker connection (nil: not checked).
	MQTTConnected func() bool
	// Metrics is served on /metrics (nil: 404).
	Metrics prometheus.Gatherer
	// Login, when set, shows "Log in with Tesla" and serves /auth/*.
	Login *Login
	// Access decides who may start a login and whether requests come
	// through Home Assistant's Ingress.
	Access Access
	// SpendDays returns this month's estimated Fleet API spend per day and
	// billing category for the page's chart (nil: no chart).
	SpendDays func() []DaySpend
	// Location is the time zone the page shows times in (nil: the
	// process's zone, time.Local), so that the page agrees with the cron
	// schedules, which are read in the same zone.
	Location *time.Location
	// Refresh is how often the page fetches a fresh copy of itself while
	// it is open (0: every 15 s).
	Refresh time.Duration
	// Clock dates the page and expires pending logins (default: the wall clock).
	Clock clock.Clock
	// Logger for requests that fail; never given tokens, codes or passwords.
	Logger zerolog.Logger
}

// Access says who may start a Tesla login on the page. Starting a login
// replaces the bridge's Tesla token with whatever account logs in, so it
// is the one action on the page that needs an authorised user.
type Access struct {
	// Listen is the address the server listens on ([http] addr; Start
	// fills it in when empty). On a loopback address a login needs no
	// password: whoever can connect already runs code on this machine.
	Listen string
	// PasswordHash is a bcrypt hash (tesla2mqtt hash-password). When set,
	// starting a login asks for the password, on any address. Without it a
	// server beyond loopback shows the page read-only and says what to
	// configure.
	PasswordHash string
	// IngressPeer is the address of Home Assistant's Ingress proxy (the
	// Supervisor, SupervisorIngress) in the add-on; the zero value turns
	// Ingress off. Only requests from this peer are taken as Ingress: their
	// X-Ingress-Path sets the page's path prefix and they may log in
	// without a password, since the Supervisor forwards only users Home
	// Assistant authenticated. The header from any other peer is ignored.
	IngressPeer netip.Addr
}

// SupervisorIngress is where Home Assistant's Supervisor proxies Ingress
// requests from, on its internal network: the only peer an add-on trusts.
var SupervisorIngress = netip.MustParseAddr("172.30.32.2")

// Login is what the page needs to run Tesla's authorization-code flow.
type Login struct {
	// Auth is the app's OAuth configuration. Its RedirectURI comes from
	// the config and is sent to Tesla as is. When its path ends in
	// /auth/callback, Tesla sends the browser back to this page, which
	// finishes the login; otherwise the page asks the user to paste the
	// address Tesla sent the browser to, as `login --paste` does.
	Auth fleet.AuthConfig
	// Save stores the new token; the bridge picks it up without a restart.
	Save func(ctx context.Context, t *fleet.Token) error
}

// Server is the HTTP server. Create it with New.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	pages *pages
	// key signs CSRF tokens; a new one each start invalidates old forms.
	key []byte

	mu      sync.Mutex
	pending map[string]*pendingLogin // by OAuth state
	clients map[string]*clientTally  // by client key
	srv     *http.Server
}

// New builds the server and its routes; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Bridge == nil {
		return nil, errors.New("web: a status source is required")
	}
	opts.Clock = clock.OrReal(opts.Clock)
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 15 * time.Second
	}
	p, err := loadPages(opts.Location)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), pages: p, key: make([]byte, 32),
		pending: map[string]*pendingLogin{}, clients: map[string]*clientTally{}}
	rand.Read(s.key) // never fails since Go 1.24
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.Handle("GET /static/", http.FileServerFS(assets))
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics, promhttp.HandlerOpts{}))
	}
	if opts.Login != nil {
		s.mux.HandleFunc("POST /auth/start", s.handleAuthStart)
		s.mux.HandleFunc("GET /auth/start", s.handleAuthStartGet)
		s.mux.HandleFunc("GET /auth/callback", s.handleAuthCallback)
		s.mux.HandleFunc("POST /auth/paste", s.handleAuthPaste)
	}
	return s, nil
}

// ServeHTTP implements http.Handler, with headers that keep the page out
// of caches and of frames: Home Assistant shows the page through Ingress
// in a frame of its own origin, so that one origin may frame it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ri := s.classify(r)
	h := w.Header()
	frame := "'none'"
	if ri.ingress {
		frame = "'self'"
		h.Set("X-Frame-Options", "SAMEORIGIN")
	} else {
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"object-src 'none'; base-uri 'none'; frame-ancestors "+frame)
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)))
}

// Start listens on addr and serves in the background; it returns the bound
// address (addr may use port 0). A busy port is an error here, not later.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	return s.Serve(ln), nil
}

// Serve serves on a listener the caller opened, in the background, and
// returns its address. Access.Listen defaults to that address.
func (s *Server) Serve(ln net.Listener) string {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	s.mu.Lock()
	s.srv = srv
	if s.opts.Access.Listen == "" {
		s.opts.Access.Listen = ln.Addr().String()
	}
	a := s.opts.Access
	s.mu.Unlock()
	if s.opts.Login != nil && a.PasswordHash == "" && !isLoopback(a.Listen) {
		if a.IngressPeer.IsValid() {
			s.opts.Logger.Info().Str("addr", a.Listen).Msg("the status page's Tesla login is offered through Home Assistant's Ingress only")
		} else {
			s.opts.Logger.Warn().Str("addr", a.Listen).Msg("status page beyond loopback without [http] password_hash: " +
				"it is read-only and its Tesla login is off; set password_hash (tesla2mqtt hash-password) to log in there")
		}
	}
	go func() {
		// Handlers' panics are net/http's to recover (per request); this
		// guards the serving goroutine itself, like every long-lived one.
		defer func() {
			if r := recover(); r != nil {
				s.opts.Logger.Error().Interface("panic", r).Msg("HTTP server panicked; recovered")
			}
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error().Err(err).Msg("HTTP server stopped")
		}
	}()
	return ln.Addr().String()
}

// Shutdown stops a started server, waiting for requests in flight until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	// A connection still new or busy when ctx ends is closed, not left
	// to serve on after the bridge has stopped.
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	return err
}
