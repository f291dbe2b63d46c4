package main

import (
	"context"
	"net/http"
	"time"
)

// stopHTTP shuts srv down, giving requests in flight grace. Shutdown
// leaves a connection that was only just accepted (it counts as busy)
// served on when the grace ends; Close ends it, so nothing outlives the
// stop.
func stopHTTP(ctx context.Context, srv *http.Server, grace time.Duration) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if srv.Shutdown(sctx) != nil {
		_ = srv.Close()
	}
}
