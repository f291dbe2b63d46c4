package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

const obTestSecret = "ta-secret.onboarding-test-123"

// obSyncBuf is an io.Writer safe for concurrent writes that wakes waiters.
type obSyncBuf struct {
	mu     sync.Mutex
	b      bytes.Buffer
	notify chan struct{}
}

func newObSyncBuf() *obSyncBuf { return &obSyncBuf{notify: make(chan struct{}, 1)} }

func (s *obSyncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *obSyncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer contains sub.
func (s *obSyncBuf) waitFor(t *testing.T, sub string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(s.String(), sub) {
		select {
		case <-s.notify:
		case <-deadline:
			t.Fatalf("output never contained %q:\n%s", sub, s.String())
		}
	}
	return s.String()
}

// obFreeAddr returns a loopback address nothing listens on.
func obFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// obConfig points [tesla] at a fleetsim server.
func obConfig(t *testing.T, simURL string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Tesla.ClientID, cfg.Tesla.ClientSecret, cfg.Tesla.Domain = "app", obTestSecret, "app.example.com"
	cfg.Tesla.APIBaseURL, cfg.Tesla.AuthBaseURL = simURL, simURL
	cfg.Tesla.RedirectURI = "http://" + obFreeAddr(t) + "/callback"
	cfg.Broker.Addr = "127.0.0.1:0"
	return &cfg
}

// obAuthorizeRedirect opens the authorize URL and returns where fleetsim
// sends the browser (the callback URL with the code).
func obAuthorizeRedirect(authURL string) (string, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("authorize: HTTP %d", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

func obCodeOf(t *testing.T, redirect string) string {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("code")
}

// obAssertNoSecrets fails when text holds a token, code or the client secret.
// Simulated codes and refresh tokens start with "NA_"; every JWT starts
// with "eyJ" (base64 of `{"`).
func obAssertNoSecrets(t *testing.T, what, text string, extra ...string) {
	t.Helper()
	for _, s := range append([]string{obTestSecret, "NA_", "eyJ"}, extra...) {
		if s != "" && strings.Contains(text, s) {
			i := strings.Index(text, s)
			t.Errorf("%s contains a secret (%q…) near: %q", what, s[:min(len(s), 6)], text[max(0, i-60):min(len(text), i+20)])
		}
	}
}

func TestLoginCallbackMode(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := obConfig(t, srv.URL)
	out := newObSyncBuf()
	var code string
	browsed := make(chan error, 1)
	p := loginParams{cfg: cfg, configPath: "config.toml", out: out, now: time.Now,
		// The "browser": consent at fleetsim, then follow the redirect to
		// the local callback server, like curl -L.
		browse: func(authURL string) error {
			go func() {
				loc, err := obAuthorizeRedirect(authURL)
				if err == nil {
					code = obCodeOf(t, loc)
					var resp *http.Response
					if resp, err = http.Get(loc); err == nil {
						resp.Body.Close()
					}
				}
				browsed <- err
			}()
			return nil
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := runLogin(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-browsed; err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.StateDir, fleet.TokenFileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v", err, fi.Mode().Perm())
	}
	if di, _ := os.Stat(cfg.StateDir); di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode = %v", di.Mode().Perm())
	}
	text := out.String()
	if !strings.Contains(text, "Granted scopes (9 of 9 requested)") || strings.Contains(text, "Missing scopes") {
		t.Errorf("summary:\n%s", text)
	}
	obAssertNoSecrets(t, "login output", text, code, tok.AccessToken, tok.RefreshToken)
}

func TestLoginPasteModeNamesMissingScopes(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetGrantedScopes([]string{"openid", "offline_access", "user_data", "vehicle_device_data", "vehicle_cmds",
		"vehicle_charging_cmds", "energy_device_data"})
	cfg := obConfig(t, srv.URL)
	out := newObSyncBuf()
	stdinR, stdinW := io.Pipe()
	p := loginParams{cfg: cfg, configPath: "config.toml", paste: true, stdin: stdinR, out: out, now: time.Now}
	done := make(chan error, 1)
	var tok *fleet.Token
	go func() {
		var err error
		tok, err = runLogin(context.Background(), p)
		done <- err
	}()
	text := out.waitFor(t, "paste it here")
	var authURL string
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, srv.URL+"/oauth2/v3/authorize?") {
			authURL = l
		}
	}
	loc, err := obAuthorizeRedirect(authURL)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdinW, loc)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	text = out.String()
	for _, want := range []string{
		"Granted scopes (7 of 9 requested)",
		"Missing scopes (2)",
		"✗ vehicle_location", "no car location",
		"✗ energy_cmds", "Powerwall controls are read-only",
		"revoke_client_id=app",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("login output lacks %q:\n%s", want, text)
		}
	}
	obAssertNoSecrets(t, "login output", text, obCodeOf(t, loc), tok.AccessToken, tok.RefreshToken)
}

func TestLoginPasteRejectsForeignState(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := obConfig(t, srv.URL)
	p := loginParams{cfg: cfg, configPath: "config.toml", paste: true, out: io.Discard, now: time.Now,
		stdin: strings.NewReader(cfg.Tesla.RedirectURI + "?code=NA_x&state=someone-else\n")}
	if _, err := runLogin(context.Background(), p); !errors.Is(err, fleet.ErrStateMismatch) {
		t.Fatalf("err = %v, want a state mismatch", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, fleet.TokenFileName)); err == nil {
		t.Fatal("a token was stored for a foreign redirect")
	}
}

func TestRefreshRotationAcrossRestart(t *testing.T) {
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := obConfig(t, srv.URL)
	if _, err := loginHeadless(context.Background(), loginParams{cfg: cfg, configPath: "c", out: io.Discard, now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	first, err := openAccount(cfg, "c", clock, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(8 * time.Hour)
	if _, err := first.ts.Token(); err != nil {
		t.Fatal(err)
	}
	rotated := first.ts.Current().RefreshToken
	// Restart: a new process reads the rotated token from disk and can
	// refresh with it; the lineage survives.
	second, err := openAccount(cfg, "c", clock, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if second.ts.Current().RefreshToken != rotated {
		t.Fatal("the rotated refresh token was not on disk")
	}
	clock.Advance(8 * time.Hour)
	if _, err := second.ts.Token(); err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	if _, refreshes := sim.AuthStats(); refreshes != 2 {
		t.Errorf("refreshes = %d, want 2", refreshes)
	}
}

// TestRunLoginRequiredAndRecovery runs the bridge on a logged-in token,
// kills the lineage, watches login_required reach MQTT, logs in again and
// sees the bridge recover without a restart. Every log line is captured
// and searched for secrets.
func TestRunLoginRequiredAndRecovery(t *testing.T) {
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetGrantedScopes([]string{"openid", "offline_access", "user_data", "vehicle_device_data", "vehicle_cmds",
		"vehicle_charging_cmds", "energy_device_data", "energy_cmds"})
	cfg := obConfig(t, srv.URL)
	logs := newObSyncBuf()
	log := zerolog.New(logs).Level(zerolog.TraceLevel)
	loginOut := newObSyncBuf()
	tok1, err := loginHeadless(context.Background(), loginParams{cfg: cfg, configPath: "c", out: loginOut, now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := openAccount(cfg, "config.toml", clock, log)
	if err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	acct.tick = tick
	// The watcher subscribes before the bridge publishes anything, so every
	// event is seen (bridge/event is not retained).
	brk := broker.New(broker.Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err := brk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = brk.Close() })
	cfg.MQTT.URL = "tcp://" + brk.Addr()
	w := newWatcher(t, cfg.MQTT.URL)
	ctx, cancel := context.WithCancel(context.Background())
	base := acct.resolveRegion(ctx, cfg)
	sched := schedule.NewManual()
	st, err := startStack(ctx, cfg, wiring{tokens: acct.ts, baseURL: base, scopes: acct.tracker.granted, scheduler: sched, clock: clock}, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st.attach(acct)
	done := make(chan struct{})
	go func() { _ = st.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-sched.Started()

	status := w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == false })
	if status["region"] != "na" || status["missing_scope_count"] != 1.0 {
		t.Errorf("bridge/status = %v", status)
	}
	info := w.waitJSON(t, "tesla2mqtt/bridge/info", func(m map[string]any) bool { return m["account"] != nil })
	missing := info["account"].(map[string]any)["missing_scopes"].([]any)
	if m := missing[0].(map[string]any); m["scope"] != "vehicle_location" || !strings.Contains(m["disables"].(string), "location") {
		t.Errorf("bridge/info missing = %v", missing)
	}
	car := w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["battery_level"] != nil })
	if car["latitude"] != nil {
		t.Errorf("location published without vehicle_location: %v", car["latitude"])
	}
	if !bytes.Contains(w.get("homeassistant/device/tesla2mqtt_bridge/config"), []byte(`"unique_id":"tesla2mqtt_bridge_login_required"`)) {
		t.Error("no Login required problem sensor")
	}

	// Tesla kills the lineage (password change); the next refresh fails.
	sim.RevokeTokens()
	clock.Advance(8 * time.Hour)
	tick <- clock.Now()
	w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == true })
	w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool { return m["type"] == "login_required" })
	if car := w.waitJSON(t, "tesla2mqtt/"+model3, func(map[string]any) bool { return true }); car["battery_level"] == nil {
		t.Errorf("last state lost after login_required: %v", car)
	}

	// The user logs in again; the bridge picks the token up by itself.
	tok2, err := loginHeadless(context.Background(), loginParams{cfg: cfg, configPath: "c", out: loginOut, now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tick <- clock.Now()
	w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == false })
	w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool {
		return m["type"] == "token_refreshed" && m["source"] == "login"
	})
	if _, err := acct.ts.Token(); err != nil {
		t.Fatalf("token after the new login: %v", err)
	}

	cancel()
	<-done
	all := logs.String() + loginOut.String()
	obAssertNoSecrets(t, "logs", all, tok1.AccessToken, tok1.RefreshToken, tok2.AccessToken, tok2.RefreshToken)
	if !strings.Contains(logs.String(), "new token from tesla2mqtt login picked up") {
		t.Error("the reload was not logged")
	}
}

// TestDoctorAgainstFleetsim goes from keygen to a passing doctor: register,
// login, pair the car that needs signed commands.
func TestDoctorAgainstFleetsim(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	var out bytes.Buffer
	if err := cmdKeygen(context.Background(), []string{"--out", filepath.Join(dir, "keys"), "--domain", "app.example.com"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "https://app.example.com/.well-known/appspecific/com.tesla.3p.public-key.pem") ||
		!strings.Contains(out.String(), "BEGIN PUBLIC KEY") {
		t.Errorf("keygen output:\n%s", out.String())
	}
	if err := cmdKeygen(context.Background(), []string{"--out", filepath.Join(dir, "keys")}, io.Discard, io.Discard); !errors.Is(err, fleet.ErrKeyExists) {
		t.Fatalf("second keygen: %v, want ErrKeyExists", err)
	}
	pub, err := readAppPublicKey(filepath.Join(dir, "keys", fleet.PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.SetAppPublicKey(pub); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	redirect := "http://" + obFreeAddr(t) + "/callback"
	toml := fmt.Sprintf(`state_dir = %q
[tesla]
client_id = "app"
client_secret = %q
domain = "app.example.com"
private_key_file = %q
api_base_url = %q
auth_base_url = %q
public_key_url = %q
redirect_uri = %q
[broker]
addr = "127.0.0.1:0"
`, filepath.Join(dir, "state"), obTestSecret, filepath.Join(dir, "keys", fleet.PrivateKeyFile), srv.URL, srv.URL,
		srv.URL+"/.well-known/appspecific/com.tesla.3p.public-key.pem", redirect)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var doc bytes.Buffer
	if err := cmdDoctor(ctx, []string{"-c", cfgPath}, &doc, io.Discard); err == nil {
		t.Fatalf("doctor passed before login and registration:\n%s", doc.String())
	}
	if !strings.Contains(doc.String(), "✗ token") {
		t.Errorf("doctor without a token:\n%s", doc.String())
	}

	var reg bytes.Buffer
	if err := cmdRegister(ctx, []string{"-c", cfgPath}, &reg, io.Discard); err != nil {
		t.Fatalf("register: %v\n%s", err, reg.String())
	}
	if !strings.Contains(reg.String(), "✓ registered public key matches your private key") {
		t.Errorf("register output:\n%s", reg.String())
	}
	if _, err := loginHeadless(ctx, loginParams{cfg: cfg, configPath: cfgPath, out: io.Discard, now: time.Now}); err != nil {
		t.Fatal(err)
	}
	doc.Reset()
	if err := cmdDoctor(ctx, []string{"-c", cfgPath}, &doc, io.Discard); err == nil {
		t.Fatalf("doctor passed with an unpaired car that needs signed commands:\n%s", doc.String())
	}
	if !strings.Contains(doc.String(), "✗ car") || !strings.Contains(doc.String(), "https://tesla.com/_ak/app.example.com?vin="+modelY) {
		t.Errorf("doctor did not name the unpaired car:\n%s", doc.String())
	}
	sim.SetKeyPaired(modelY, true)
	doc.Reset()
	if err := cmdDoctor(ctx, []string{"-c", cfgPath}, &doc, io.Discard); err != nil {
		t.Fatalf("doctor: %v\n%s", err, doc.String())
	}
	text := doc.String()
	for _, want := range []string{"✓ config", "✓ broker", "✓ token", "✓ expiry", "✓ scopes", "✓ region", "✓ registered",
		"✓ hosted key", "Red Three", "requires signed commands", "https://tesla.com/_ak/app.example.com", "All checks passed"} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	if !strings.ContainsAny(text, "█▀▄") {
		t.Error("no QR code printed")
	}
	obAssertNoSecrets(t, "doctor output", text+reg.String())
}
