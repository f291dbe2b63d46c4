package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func apiErr(status int, kind error) error {
	return &fleet.APIError{Endpoint: fleet.CallCommand, Status: status, Kind: kind}
}

// TestPredicates pins the taxonomy the bridge relies on to tell "failed"
// from "unknown" and to decide what a back-off may retry.
func TestPredicates(t *testing.T) {
	for _, c := range []struct {
		name                  string
		err                   error
		mayHaveRun, temporary bool
	}{
		{"nil", nil, false, false},
		{"signed answer lost", fmt.Errorf("%w (%w)", fleet.ErrMayHaveSucceeded, errors.New("sdk")), true, false},
		{"timeout waiting for the answer", apiErr(0, fleet.ErrTimeout), true, true},
		{"connection cut after sending", apiErr(0, fleet.ErrNetwork), true, true},
		{"connection refused", &fleet.APIError{Endpoint: "command", Kind: fleet.ErrNetwork, Unsent: true}, false, true},
		{"dial timeout", &fleet.APIError{Endpoint: "command", Kind: fleet.ErrTimeout, Unsent: true}, false, true},
		{"503 gateway", apiErr(503, fleet.ErrServer), true, true},
		{"504 gateway timeout", apiErr(504, fleet.ErrServer), true, true},
		{"500", apiErr(500, fleet.ErrServer), false, true},
		{"502", apiErr(502, fleet.ErrServer), false, true},
		{"caller cancelled", fmt.Errorf("wake: %w", context.Canceled), true, false},
		{"caller deadline", context.DeadlineExceeded, true, false},
		{"asleep 408", apiErr(408, fleet.ErrAsleep), false, false},
		{"offline", fleet.ErrOffline, false, false},
		{"rate limited", apiErr(429, fleet.ErrRateLimited), false, false},
		{"unauthorized", apiErr(401, fleet.ErrUnauthorized), false, false},
		{"missing scope", apiErr(403, fleet.ErrMissingScopes), false, false},
		{"protocol required", apiErr(403, fleet.ErrProtocolRequired), false, false},
		{"bad request", apiErr(400, fleet.ErrBadRequest), false, false},
		{"malformed 200", apiErr(200, fleet.ErrMalformed), false, true},
		{"too large 200", apiErr(200, fleet.ErrTooLarge), false, false},
		{"too large 502", apiErr(502, fleet.ErrTooLarge), false, true},
		{"key not paired", fleet.ErrKeyNotPaired, false, false},
		{"signing required", fleet.ErrSigningRequired, false, false},
		{"login required", fleet.ErrLoginRequired, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fleet.MayHaveRun(c.err); got != c.mayHaveRun {
				t.Errorf("MayHaveRun(%v) = %t, want %t", c.err, got, c.mayHaveRun)
			}
			if got := fleet.Temporary(c.err); got != c.temporary {
				t.Errorf("Temporary(%v) = %t, want %t", c.err, got, c.temporary)
			}
		})
	}
}

func TestErrForState(t *testing.T) {
	for state, want := range map[string]error{
		fleet.StateOnline: nil, fleet.StateAsleep: fleet.ErrAsleep, fleet.StateOffline: fleet.ErrOffline, "updating": fleet.ErrOffline,
	} {
		if got := fleet.ErrForState(state); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("ErrForState(%q) = %v, want %v", state, got, want)
		}
	}
	if errors.Is(fleet.ErrOffline, fleet.ErrAsleep) || errors.Is(fleet.ErrAsleep, fleet.ErrOffline) {
		t.Error("offline and asleep must stay apart: only an asleep car can be woken")
	}
}

// TestMayHaveRunFromTheWire sends real commands: one to a port nobody
// listens on (nothing can have run), one to a server that reads the
// command and drops the connection without answering (it may have run),
// and gateway errors.
func TestMayHaveRunFromTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	env := newTestClient(t, refused)
	_, err = env.c.Command(context.Background(), testVIN, "door_lock", nil)
	if !errors.Is(err, fleet.ErrNetwork) || fleet.MayHaveRun(err) || !fleet.Temporary(err) {
		t.Errorf("connection refused: err = %v, MayHaveRun %t", err, fleet.MayHaveRun(err))
	}

	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/vehicles/{vin}/command/door_lock": func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // the request arrived; the answer never leaves
			}
		},
		"/api/1/vehicles/{vin}/command/door_unlock": serve(504, `{"error":"upstream timeout"}`),
		"/api/1/vehicles/{vin}/command/honk_horn":   serve(500, `{"error":"boom"}`),
	})
	env = newTestClient(t, f.URL)
	_, err = env.c.Command(context.Background(), testVIN, "door_lock", nil)
	if !errors.Is(err, fleet.ErrNetwork) || !fleet.MayHaveRun(err) {
		t.Errorf("cut after sending: err = %v, MayHaveRun %t", err, fleet.MayHaveRun(err))
	}
	if len(f.requests()) != 1 {
		t.Fatalf("the server saw %d requests, want the one command", len(f.requests()))
	}
	_, err = env.c.Command(context.Background(), testVIN, "door_unlock", nil)
	if !fleet.MayHaveRun(err) {
		t.Errorf("504: err = %v, want MayHaveRun", err)
	}
	_, err = env.c.Command(context.Background(), testVIN, "honk_horn", nil)
	if fleet.MayHaveRun(err) || !fleet.Temporary(err) {
		t.Errorf("500: err = %v, want a temporary failure that did not run", err)
	}
}
