package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/web"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// healthOf asks the status server's /healthz.
func healthOf(t *testing.T, statusURL string) (int, web.Health) {
	t.Helper()
	resp, err := http.Get(statusURL + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h web.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

// Regression (issue 19): with the broker down at start, `run` exited (a
// restart loop in Docker). Now the bridge starts, /healthz answers and
// says mqtt is failing, and once the broker comes up the bridge connects
// and publishes its state without any restart.
func TestBrokerDownAtStartThenUp(t *testing.T) {
	addr := peerFreeAddr(t) // nothing listens here yet
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clk})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.MQTT.URL = "tcp://" + addr
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})
	st, ctx, _, stop := e2eStack(t, &cfg, clk, srv.URL, wiring{tokens: tokens, reconnect: 50 * time.Millisecond})
	defer stop() // before the broker below closes: a bridge stopping while it reconnects is slow
	late, err := addons(st, &cfg, "127.0.0.1:0", nil, pagePlain, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	runLate(t, ctx, late)

	code, h := healthOf(t, st.StatusURL)
	if code != http.StatusServiceUnavailable || h.MQTT.OK || !strings.Contains(strings.Join(h.Failing, ","), "mqtt") {
		t.Fatalf("/healthz with the broker down: %d %+v, want 503 failing mqtt", code, h)
	}

	relBroker(t, addr)
	w := newRelClient(t, "tcp://"+addr, "rel-late-broker", "tesla2mqtt/bridge/state", "tesla2mqtt/"+model3)
	w.waitRaw(t, "tesla2mqtt/bridge/state", "online")
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["charge_limit"] != nil })
	if code, h := healthOf(t, st.StatusURL); code != http.StatusOK || !h.MQTT.OK {
		t.Fatalf("/healthz once connected: %d %+v", code, h)
	}
}

// Regression (issue 19): a corrupt token file made `run` exit. Now the
// bridge runs, reports login_required with the reason (bridge/info,
// /healthz), and a login on the status page replaces the file and brings
// the account back without a restart.
func TestCorruptTokenFileKeepsRunning(t *testing.T) {
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clk})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := obConfig(t, srv.URL)
	if err := ensureStateDir(cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.StateDir, fleet.TokenFileName)
	if err := os.WriteFile(path, []byte(`{"access_token":"eyJtruncated`), 0o600); err != nil {
		t.Fatal(err)
	}
	acct, err := openAccount(cfg, "config.toml", clk, zerolog.Nop())
	if err != nil {
		t.Fatalf("a corrupt token file stopped the bridge: %v", err)
	}
	cfg.MQTT.URL = testBroker(t)
	w := newRelClient(t, cfg.MQTT.URL, "rel-token-watch", "tesla2mqtt/bridge/info", "tesla2mqtt/bridge/status")
	ctx, cancel := context.WithCancel(context.Background())
	sched := schedule.NewManual()
	st, err := startStack(ctx, cfg, wiring{tokens: acct.ts, baseURL: srv.URL, scopes: acct.tracker.granted, scheduler: sched, clock: clk}, zerolog.Nop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st.attach(acct)
	if err := startAddons(st, cfg, "127.0.0.1:0", acct, pagePlain, zerolog.Nop()); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = st.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	info := w.waitJSON(t, "tesla2mqtt/bridge/info", func(m map[string]any) bool {
		a, _ := m["account"].(map[string]any)
		return a != nil && a["login_needed"] == true
	})
	reason, _ := info["account"].(map[string]any)["login_error"].(string)
	if !strings.Contains(reason, "corrupt") || !strings.Contains(reason, path) || strings.Contains(reason, "eyJ") {
		t.Fatalf("bridge/info login_error = %q, want the corrupt file named, never its content", reason)
	}
	if code, h := healthOf(t, st.StatusURL); code != http.StatusServiceUnavailable || h.Token.OK || !strings.Contains(h.Token.Detail, "corrupt") {
		t.Fatalf("/healthz: %d %+v, want the token failing because the file is corrupt", code, h.Token)
	}

	// The user logs in on the status page: Tesla's code is exchanged and
	// the page saves the token, replacing the corrupt file.
	ac := authConfig(cfg)
	req, err := fleet.NewAuthRequest(ac)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := obAuthorizeRedirect(req.URL())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := fleet.Exchange(ctx, ac, req, obCodeOf(t, redirect), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.savePageLogin(ctx, tok); err != nil {
		t.Fatal(err)
	}
	w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == false })
	if code, h := healthOf(t, st.StatusURL); !h.Token.OK {
		t.Fatalf("/healthz after the login: %d %+v", code, h.Token)
	}
	if _, err := acct.ts.Token(); err != nil {
		t.Fatalf("token after the page login: %v", err)
	}
}

// A broker URL no retry can fix is still a usage error (exit 2) at once,
// not a bridge that retries forever.
func TestUnusableBrokerURLExits(t *testing.T) {
	var stderr strings.Builder
	code := run([]string{"demo", "--mqtt-url", "localhost:1883", "--http-addr", "off"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `"localhost:1883"`) || !strings.Contains(stderr.String(), "scheme://host:port") {
		t.Fatalf("demo --mqtt-url localhost:1883: exit %d, stderr:\n%s", code, stderr.String())
	}
}
