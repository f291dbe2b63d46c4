package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

type fakeStatus struct {
	mu sync.Mutex
	st bridge.Status
}

func (f *fakeStatus) Status() bridge.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func sampleStatus() bridge.Status {
	paired, notPaired := true, false
	return bridge.Status{
		Version: "v-test", At: testNow, Discovered: true, AccountKnown: true,
		PairingURL: "https://tesla.com/_ak/example.com",
		Account: bridge.AccountInfo{Region: "eu", GrantedScopes: []string{"openid", "vehicle_device_data"},
			MissingScopes: []bridge.MissingScope{{Scope: "vehicle_location", Title: "Vehicle location", Disables: "location"}},
			MissingCount:  1, ConsentURL: "https://accounts.tesla.com/consent"},
		Devices: []bridge.DeviceStatus{
			{Name: "red", Label: "Red Three", Kind: "vehicle", ID: "5YJ3E1EA7PF000001", Model: "Model 3", FleetState: "online",
				KeyPaired: &paired, CommandSigning: "allowed", LastPoll: testNow.Add(-2 * time.Minute),
				LastResult: &command.Result{Key: "charge_limit", Status: "ok", At: "2026-11-29T11:59:00Z"},
				Readings:   []bridge.Reading{{Key: "battery_level", Name: "Battery level", Unit: "%", Value: 62.0}}},
			{Name: "blue", Label: "Blue Y", Kind: "vehicle", ID: "7SAYGDEE1PF000002", FleetState: "asleep",
				KeyPaired: &notPaired, CommandSigning: "required", SigningRequired: true,
				PairingURL: "https://tesla.com/_ak/example.com?vin=7SAYGDEE1PF000002"},
			{Name: "home", Label: "Home", Kind: "energy_site", ID: "42", LastError: "live_status: 500 server error"},
		},
		Spend: bridge.Spend{Billable: map[string]int{"data": 10}, EstimatedUSD: 0.02},
	}
}

func newTestServer(t *testing.T, st bridge.Status, connected bool, login *Login) (*httptest.Server, *fakeStatus) {
	t.Helper()
	src := &fakeStatus{st: st}
	s, err := New(Options{Bridge: src, MQTTConnected: func() bool { return connected }, Login: login,
		Metrics: prometheus.NewRegistry(), Clock: clock.NewManual(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, src
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthzSaysWhichPartFails(t *testing.T) {
	st := sampleStatus()
	srv, src := newTestServer(t, st, false, nil)
	code, body := get(t, nil, srv.URL+"/healthz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("healthz = %d, want 503", code)
	}
	var h Health
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("body is not JSON: %s", body)
	}
	if strings.Join(h.Failing, ",") != "mqtt,device:home" {
		t.Errorf("failing = %v, want mqtt and device:home (the asleep car is healthy)", h.Failing)
	}

	// Everything fine: 200.
	st.Devices[2].LastError = ""
	src.mu.Lock()
	src.st = st
	src.mu.Unlock()
	srv2, _ := newTestServer(t, st, true, nil)
	if code, body := get(t, nil, srv2.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthy bridge: %d %s", code, body)
	}
	// Login needed: 503 naming the token.
	st.Account.LoginNeeded, st.Account.LoginError = true, "refresh token revoked"
	srv3, _ := newTestServer(t, st, true, nil)
	code, body = get(t, nil, srv3.URL+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"token"`) || !strings.Contains(body, "refresh token revoked") {
		t.Fatalf("login needed: %d %s", code, body)
	}
}

func TestStatusPageShowsAccountCarsAndPairing(t *testing.T) {
	srv, _ := newTestServer(t, sampleStatus(), true, &Login{})
	code, body := get(t, nil, srv.URL+"/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d", code)
	}
	for _, want := range []string{
		"Red Three", "Blue Y", "not paired", "paired", "required", "charge_limit", "Battery level: 62 %",
		"vehicle_location", "consent page", "https://accounts.tesla.com/consent",
		"Log in with Tesla", "https://tesla.com/_ak/example.com", "<svg class=\"qr\"", "live_status: 500 server error",
		"2 min ago", "$0.02", ">eu<",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("the status page must work without JavaScript")
	}
	if code, css := get(t, nil, srv.URL+"/static/style.css"); code != 200 || !strings.Contains(css, ".card") {
		t.Errorf("stylesheet: %d", code)
	}
}

func TestLoginAgainstFleetsimSavesTheToken(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	sim.SetGrantedScopes([]string{"openid", "offline_access", "vehicle_device_data"})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	var saved *fleet.Token
	login := &Login{
		Auth: fleet.AuthConfig{ClientID: "app", ClientSecret: "s3cret", AuthorizeURL: simSrv.URL + "/oauth2/v3/authorize",
			TokenURL: simSrv.URL + "/oauth2/v3/token", Audience: simSrv.URL,
			Scopes: []string{"openid", "offline_access", "vehicle_device_data", "vehicle_location"}},
		Save: func(_ context.Context, tok *fleet.Token) error { saved = tok; return nil },
	}
	srv, _ := newTestServer(t, sampleStatus(), true, login)
	// A browser: follows Tesla's redirect back to the callback.
	code, body := get(t, nil, srv.URL+"/auth/start")
	if code != http.StatusOK {
		t.Fatalf("login flow ended with %d: %s", code, body)
	}
	if saved == nil || saved.AccessToken == "" || saved.RefreshToken == "" {
		t.Fatalf("no token saved: %v", saved)
	}
	if !strings.Contains(body, "Logged in with Tesla") || !strings.Contains(body, "vehicle_location") {
		t.Errorf("result page lacks the login and the missing scope:\n%s", body)
	}
	if strings.Contains(body, saved.AccessToken) || strings.Contains(body, saved.RefreshToken) {
		t.Error("the result page shows a token")
	}
	// Replaying the callback is refused: the state is single-use.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/auth/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("redirect_uri") != srv.URL+"/auth/callback" || loc.Query().Get("code_challenge_method") != "S256" {
		t.Errorf("authorize URL = %s", loc)
	}
	back, err := noFollow.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	cb := back.Header.Get("Location")
	if c, _ := get(t, nil, cb); c != http.StatusOK {
		t.Fatalf("first callback = %d", c)
	}
	if c, body := get(t, nil, cb); c != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("replayed callback = %d, want 400 expired", c)
	}
}

func TestLoginSaveFailureIsShown(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	login := &Login{
		Auth: fleet.AuthConfig{ClientID: "app", AuthorizeURL: simSrv.URL + "/oauth2/v3/authorize",
			TokenURL: simSrv.URL + "/oauth2/v3/token", Audience: simSrv.URL},
		Save: func(context.Context, *fleet.Token) error { return errors.New("disk full") },
	}
	srv, _ := newTestServer(t, sampleStatus(), true, login)
	code, body := get(t, nil, srv.URL+"/auth/start")
	if code != http.StatusInternalServerError || !strings.Contains(body, "disk full") {
		t.Errorf("save failure: %d %s", code, body)
	}
}

func TestNoLoginRoutesWithoutLoginConfig(t *testing.T) {
	srv, _ := newTestServer(t, sampleStatus(), true, nil)
	if code, _ := get(t, nil, srv.URL+"/auth/start"); code != http.StatusNotFound {
		t.Errorf("/auth/start without a login config = %d, want 404", code)
	}
	if _, body := get(t, nil, srv.URL+"/"); strings.Contains(body, "Log in with Tesla") {
		t.Error("login button shown without a login config")
	}
}

func TestMetricsEndpointServesTheRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "tesla2mqtt_test_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	s, err := New(Options{Bridge: &fakeStatus{st: sampleStatus()}, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, body := get(t, nil, srv.URL+"/metrics")
	if code != 200 || !strings.Contains(body, "tesla2mqtt_test_total 3") {
		t.Errorf("/metrics = %d:\n%s", code, body)
	}
}
