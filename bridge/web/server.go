// Package web serves the bridge's own HTTP endpoints: the status page (/),
// /healthz for container and systemd health checks, /metrics for
// Prometheus, and a Tesla login started from the page (/auth/start →
// Tesla → /auth/callback), so a container user never needs the CLI.
//
// It renders bridge.Status with html/template and embedded assets; no
// JavaScript. It holds no state of its own beyond pending logins.
package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// StatusSource is what the page renders; *bridge.Bridge implements it.
type StatusSource interface {
	Status() bridge.Status
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
	// Clock dates the page and expires pending logins (default: the wall clock).
	Clock clock.Clock
	// Logger for requests that fail; never given tokens or codes.
	Logger zerolog.Logger
}

// Login is what the page needs to run Tesla's authorization-code flow.
type Login struct {
	// Auth is the app's OAuth configuration. When its RedirectURI does not
	// end in /auth/callback, the server's own address is used instead, so
	// register http://<this host>:<port>/auth/callback with the Tesla app.
	Auth fleet.AuthConfig
	// Save stores the new token; the bridge picks it up without a restart.
	Save func(ctx context.Context, t *fleet.Token) error
}

// Server is the HTTP server. Create it with New.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	pages *pages

	mu      sync.Mutex
	pending map[string]*pendingLogin // by OAuth state
	srv     *http.Server
	ln      net.Listener
}

// ServeHTTP implements http.Handler, with headers that keep the page out
// of frames and caches (it shows the account's state).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// Listen binds addr (which may use port 0) and returns the bound address;
// a busy port is an error here, before anything runs. Run serves it.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	return ln.Addr().String(), nil
}

// Run serves what Listen bound until ctx ends, then shuts the server down,
// giving requests in flight two seconds.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.mu.Unlock()
	if srv == nil {
		return errors.New("web: Run before Listen")
	}
	served := make(chan error, 1)
	go func() {
		// Handlers' panics are net/http's to recover (per request); this
		// guards the serving goroutine itself, like every long-lived one.
		defer func() {
			if r := recover(); r != nil {
				s.opts.Logger.Error().Interface("panic", r).Msg("HTTP server panicked; recovered")
				served <- nil
			}
		}()
		served <- srv.Serve(ln)
	}()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error().Err(err).Msg("HTTP server stopped")
		}
		return nil
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-served
	return nil
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
	return srv.Shutdown(ctx)
}

// pendingLogin is one login started with /auth/start.
type pendingLogin struct {
	req     *fleet.AuthRequest
	cfg     fleet.AuthConfig
	expires time.Time
}
