package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestHealthzSaysWhichPartFails(t *testing.T) {
	connected := false
	ts := newTestServer(t, func(o *Options, _ string) { o.MQTTConnected = func() bool { return connected } })
	code, body := get(t, nil, ts.URL+"/healthz")
	if code != 503 {
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
	st := sampleStatus()
	st.Devices[2].LastError = ""
	ts.src.set(st)
	connected = true
	if code, body := get(t, nil, ts.URL+"/healthz"); code != 200 {
		t.Fatalf("healthy bridge: %d %s", code, body)
	}
	// Login needed: 503 naming the token.
	st.Account.LoginNeeded, st.Account.LoginError = true, "refresh token revoked"
	ts.src.set(st)
	code, body = get(t, nil, ts.URL+"/healthz")
	if code != 503 || !strings.Contains(body, `"token"`) || !strings.Contains(body, "refresh token revoked") {
		t.Fatalf("login needed: %d %s", code, body)
	}
}

func TestStatusPageShowsAccountCarsAndPairing(t *testing.T) {
	ts := newTestServer(t, func(o *Options, _ string) { o.Login = &Login{} })
	code, body := get(t, nil, ts.URL+"/")
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	for _, want := range []string{
		"Red Three", "Blue Y", "not paired", "paired", "required", "charge_limit", "Battery level", "62 %",
		"vehicle_location", "consent page", "https://accounts.tesla.com/consent",
		"Log in with Tesla", "https://tesla.com/_ak/example.com", "<svg class=\"qr\"", "live_status: 500 server error",
		"2 min ago", "$0.02", ">eu<",
		// Devices by name in the health card, times in the bridge's zone.
		"Home: live_status: 500 server error", "Blue Y: last read ok (asleep)",
		"Sun 29 Nov 12:59 CET", "Sun 29 Nov 13:00 CET",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	// The VIN that names the Blue Y's topic is no heading; UTC is not shown raw.
	if strings.Contains(body, "<h3>7SAYGDEE1PF000002") || strings.Contains(body, "2026-11-29T11:59:00Z<") {
		t.Error("the page shows an id or a raw UTC time where a name or a local time belongs")
	}
	// Scripts only from the page's own origin: no inline code, no CDN.
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(m, `src="/static/`) {
			t.Errorf("script that is not a same-origin file: %s", m)
		}
	}
	if strings.Contains(body, "style=") || strings.Contains(body, "<style") || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Error("inline styles or event handlers would break the CSP")
	}
	for _, asset := range []string{"/static/style.css", "/static/refresh.js"} {
		if code, _ := get(t, nil, ts.URL+asset); code != 200 {
			t.Errorf("%s: %d", asset, code)
		}
	}
}

func TestStatusPageChartsTheMonthsSpend(t *testing.T) {
	ts := newTestServer(t, func(o *Options, _ string) { o.SpendDays = sampleDays })
	_, body := get(t, nil, ts.URL+"/")
	for _, want := range []string{`id="spend-chart"`, "November 2026", `class="cat-data"`, `class="cat-wake"`, `class="cat-command"`,
		"<title>28 Nov: ", "data $", "wake $"} {
		if !strings.Contains(body, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	// No per-day data: no chart, and no error.
	ts2 := newTestServer(t, nil)
	if _, body := get(t, nil, ts2.URL+"/"); strings.Contains(body, `id="spend-chart"`) {
		t.Error("a chart without per-day data")
	}
}

func TestLoginAgainstFleetsimSavesTheToken(t *testing.T) {
	var saved []*fleet.Token
	ts := newTestServer(t, func(o *Options, u string) { o.Login = simLogin(t, u+"/auth/callback", &saved) })
	// A browser: the button posts the form, Tesla's redirect comes back
	// to the callback, which shows the result.
	b := browser(t, true)
	_, page := get(t, b, ts.URL+"/")
	code, body, _ := post(t, b, ts.URL+"/auth/start", url.Values{"csrf": {csrf(t, page)}})
	if code != 200 {
		t.Fatalf("login flow ended with %d: %s", code, body)
	}
	if len(saved) != 1 || saved[0].AccessToken == "" || saved[0].RefreshToken == "" {
		t.Fatalf("no token saved: %v", saved)
	}
	if !strings.Contains(body, "Logged in with Tesla") || !strings.Contains(body, "vehicle_location") {
		t.Errorf("result page lacks the login and the missing scope:\n%s", body)
	}
	if strings.Contains(body, saved[0].AccessToken) || strings.Contains(body, saved[0].RefreshToken) {
		t.Error("the result page shows a token")
	}
	// Replaying the callback is refused: the state is single-use.
	nb := browser(t, false)
	_, page = get(t, nb, ts.URL+"/")
	_, _, loc := post(t, nb, ts.URL+"/auth/start", url.Values{"csrf": {csrf(t, page)}})
	au, _ := url.Parse(loc)
	if au.Query().Get("redirect_uri") != ts.URL+"/auth/callback" || au.Query().Get("code_challenge_method") != "S256" {
		t.Errorf("authorize URL = %s", loc)
	}
	back, err := nb.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	cb := back.Header.Get("Location")
	if c, _ := get(t, nil, cb); c != 200 {
		t.Fatalf("first callback = %d", c)
	}
	if c, body := get(t, nil, cb); c != 400 || !strings.Contains(body, "expired") {
		t.Errorf("replayed callback = %d, want 400 expired", c)
	}
}

func TestLoginSaveFailureIsShown(t *testing.T) {
	ts := newTestServer(t, func(o *Options, u string) {
		o.Login = simLogin(t, u+"/auth/callback", nil)
		o.Login.Save = func(context.Context, *fleet.Token) error { return errors.New("disk full") }
	})
	b := browser(t, true)
	_, page := get(t, b, ts.URL+"/")
	code, body, _ := post(t, b, ts.URL+"/auth/start", url.Values{"csrf": {csrf(t, page)}})
	if code != 500 || !strings.Contains(body, "disk full") {
		t.Errorf("save failure: %d %s", code, body)
	}
}

func TestNoLoginRoutesWithoutLoginConfig(t *testing.T) {
	ts := newTestServer(t, nil)
	if code, _, _ := post(t, nil, ts.URL+"/auth/start", nil); code != 404 {
		t.Errorf("/auth/start without a login config = %d, want 404", code)
	}
	if _, body := get(t, nil, ts.URL+"/"); strings.Contains(body, "Log in with Tesla") {
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
