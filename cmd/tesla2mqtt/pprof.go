package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// startPprof serves net/http/pprof on its own listener at addr, for field
// diagnosis (`run --pprof 127.0.0.1:6060`). Profiles show memory contents
// and code paths, so a non-loopback address is refused unless allowRemote
// says the user means it. The handlers live on their own mux: importing
// net/http/pprof also registers them on http.DefaultServeMux, which no
// server of ours uses.
func startPprof(addr string, allowRemote bool, log zerolog.Logger) (stop func(), bound string, err error) {
	if !allowRemote && !broker.IsLoopback(addr) {
		return nil, "", usageErr("--pprof %s is not a loopback address; profiles expose memory contents, so use 127.0.0.1:PORT, or add --pprof-allow-remote if you mean it", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", usageErr("cannot serve pprof on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer recoverTo(log, "pprof server")
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("pprof server stopped")
		}
	}()
	bound = ln.Addr().String()
	log.Info().Str("addr", "http://"+bound+"/debug/pprof/").Msg("pprof listening")
	return func() {
		stopHTTP(context.Background(), srv, time.Second)
		<-done
	}, bound, nil
}
