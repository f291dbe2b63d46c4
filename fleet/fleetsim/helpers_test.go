package fleetsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

const (
	vinRed  = "5YJ3E1EA7PF000001"
	vinBlue = "7SAYGDEE1PF000002"
	siteID  = "1000000001"
)

// t0 is 10:00 in Berlin (CEST, UTC+2).
// t0 is a June morning: the simulated sites' solar curve follows the
// season, so the energy tests pin their date rather than follow
// TESLA2MQTT_TEST_DATE.
var t0 = time.Date(2026, 6, 15, 8, 0, 0, 0, time.UTC)

var allScopes = []string{
	fleet.ScopeOpenID, fleet.ScopeOfflineAccess, fleet.ScopeUserData, fleet.ScopeVehicleDeviceData,
	fleet.ScopeVehicleLocation, fleet.ScopeVehicleCmds, fleet.ScopeVehicleChargingCmds,
	fleet.ScopeEnergyDeviceData, fleet.ScopeEnergyCmds,
}

type env struct {
	t     *testing.T
	sim   *Sim
	clock *clock.Manual
	srv   *httptest.Server
	token string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := clock.NewManual(t0)
	sim := New(Options{Clock: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, clock: clock, srv: srv, token: sim.MintToken(allScopes, 365*24*time.Hour)}
}

type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call performs a request with the given token ("" for none).
func (e *env) call(method, path, token string, body string) result {
	e.t.Helper()
	return e.callCtx(context.Background(), method, path, token, body)
}

func (e *env) callCtx(ctx context.Context, method, path, token string, body string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return result{status: -1, raw: []byte(err.Error())}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// get is call(GET) with the full-scope token.
func (e *env) get(path string) result { e.t.Helper(); return e.call("GET", path, e.token, "") }

// post is call(POST) with the full-scope token.
func (e *env) post(path, body string) result {
	e.t.Helper()
	return e.call("POST", path, e.token, body)
}

// want checks the status and returns "response" as a map.
func (r result) want(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	m, _ := r.body["response"].(map[string]any)
	return m
}

// wantError checks a Tesla error envelope exactly.
func (r result) wantError(t *testing.T, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	want := `{"error":"` + msg + `","error_description":"","response":null}`
	if string(r.raw) != want {
		t.Fatalf("body = %s\nwant   %s", r.raw, want)
	}
}

// decode unmarshals the "response" of r into v.
func (r result) decode(t *testing.T, v any) {
	t.Helper()
	var env struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(r.raw, &env); err != nil {
		t.Fatalf("decode: %v; body %s", err, r.raw)
	}
	if err := json.Unmarshal(env.Response, v); err != nil {
		t.Fatalf("decode response: %v; body %s", err, r.raw)
	}
}

func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	f, found := m[key].(float64)
	if !found {
		t.Fatalf("%s = %#v, want a number", key, m[key])
	}
	return f
}
