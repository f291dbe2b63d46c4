package web

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// New builds the server and its routes; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Bridge == nil {
		return nil, errors.New("web: a status source is required")
	}
	opts.Clock = clock.OrReal(opts.Clock)
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), pages: p, pending: map[string]*pendingLogin{}}
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.Handle("GET /static/", http.FileServerFS(assets))
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics, promhttp.HandlerOpts{}))
	}
	if opts.Login != nil {
		s.mux.HandleFunc("GET /auth/start", s.handleAuthStart)
		s.mux.HandleFunc("GET /auth/callback", s.handleAuthCallback)
	}
	return s, nil
}
