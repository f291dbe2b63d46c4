package web

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

type fakeStatus struct {
	mu sync.Mutex
	st contract.Status
}

func (f *fakeStatus) Status() contract.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeStatus) set(st contract.Status) {
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
}

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// testZone is the bridge's zone in these tests: the page shows 13:00 CET
// for 12:00 UTC.
var testZone = time.FixedZone("CET", 3600)

func sampleStatus() contract.Status {
	paired, notPaired := true, false
	return contract.Status{
		Version: "v-test", At: testNow, Discovered: true, AccountKnown: true,
		PairingURL: "https://tesla.com/_ak/example.com",
		Account: contract.AccountInfo{Region: "eu", GrantedScopes: []string{"openid", "vehicle_device_data"},
			MissingScopes: []contract.MissingScope{{Scope: "vehicle_location", Title: "Vehicle location", Disables: "location"}},
			MissingCount:  1, ConsentURL: "https://accounts.tesla.com/consent"},
		Devices: []contract.DeviceStatus{
			{Name: "red", Label: "Red Three", Kind: "vehicle", ID: "5YJ3E1EA7PF000001", Model: "Model 3", FleetState: "online",
				KeyPaired: &paired, CommandSigning: "allowed", LastPoll: testNow.Add(-2 * time.Minute),
				LastResult: &command.Result{Key: "charge_limit", Status: "ok", At: "2026-11-29T11:59:00Z"},
				Readings:   []contract.Reading{{Key: "battery_level", Name: "Battery level", Unit: "%", Value: 62.0}}},
			{Name: "7SAYGDEE1PF000002", Label: "Blue Y", Kind: "vehicle", ID: "7SAYGDEE1PF000002", FleetState: "asleep",
				KeyPaired: &notPaired, CommandSigning: "required", SigningRequired: true,
				PairingURL: "https://tesla.com/_ak/example.com?vin=7SAYGDEE1PF000002"},
			{Name: "home", Label: "Home", Kind: "energy_site", ID: "42", LastError: "live_status: 500 server error"},
		},
		Spend: contract.Spend{Billable: map[string]int{"data": 10}, EstimatedUSD: 0.02},
	}
}

// sampleDays is a month of spend: data every day, a wake now and then,
// commands on weekdays.
func sampleDays() []DaySpend {
	var days []DaySpend
	for d := 1; d <= testNow.Day(); d++ {
		usd := map[string]float64{"data": 0.04 + 0.002*float64(d%7)}
		if d%4 == 0 {
			usd["wake"] = 0.02 * float64(1+d%3)
		}
		if d%7 != 0 && d%7 != 6 {
			usd["command"] = 0.003
		}
		days = append(days, DaySpend{Day: time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC), USD: usd})
	}
	return days
}

// testServer is a web.Server behind httptest, with its fake bridge.
type testServer struct {
	*httptest.Server
	web *Server
	src *fakeStatus
}

// newTestServer serves the sample status on loopback; opt adjusts the
// options once the server's URL is known (for a redirect URI back to it).
func newTestServer(t *testing.T, opt func(o *Options, url string)) *testServer {
	t.Helper()
	ts := &testServer{src: &fakeStatus{st: sampleStatus()}}
	var h http.Handler = http.NotFoundHandler()
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	o := Options{Bridge: ts.src, MQTTConnected: func() bool { return true }, Metrics: prometheus.NewRegistry(),
		Clock: clock.NewManual(testNow), Location: testZone, Access: Access{Listen: "127.0.0.1:8088"}}
	if opt != nil {
		opt(&o, ts.URL)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts.web, h = s, s
	return ts
}

// simLogin is a Login against a fresh fleetsim; saved receives the token.
func simLogin(t *testing.T, redirectURI string, saved *[]*fleet.Token) *Login {
	t.Helper()
	sim := fleetsim.New(fleetsim.Options{})
	sim.SetGrantedScopes([]string{"openid", "offline_access", "vehicle_device_data"})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	var mu sync.Mutex
	return &Login{
		Auth: fleet.AuthConfig{ClientID: "app", ClientSecret: "s3cret-client", AuthorizeURL: simSrv.URL + "/oauth2/v3/authorize",
			TokenURL: simSrv.URL + "/oauth2/v3/token", Audience: simSrv.URL, RedirectURI: redirectURI,
			Scopes: []string{"openid", "offline_access", "vehicle_device_data", "vehicle_location"}},
		Save: func(_ context.Context, tok *fleet.Token) error {
			mu.Lock()
			defer mu.Unlock()
			if saved != nil {
				*saved = append(*saved, tok)
			}
			return nil
		},
	}
}

// browser is an HTTP client with cookies, like a browser tab. follow
// makes it follow redirects, as a browser does.
func browser(t *testing.T, follow bool) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// do sends a request and returns the status, body and Location.
func do(t *testing.T, c *http.Client, req *http.Request) (int, string, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	code, body, _ := do(t, c, req)
	return code, body
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

var reCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the token of the first form on a page.
func csrf(t *testing.T, body string) string {
	t.Helper()
	m := reCSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", body)
	}
	return m[1]
}

// reTeslaLink is the link to Tesla's login on the page after the start.
var reTeslaLink = regexp.MustCompile(`id="tesla-login" href="([^"]+)"`)

func teslaLink(t *testing.T, body string) string {
	t.Helper()
	m := reTeslaLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link to Tesla's login on the page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// pendingCount is how many logins the server holds open.
func (ts *testServer) pendingCount() int {
	ts.web.mu.Lock()
	defer ts.web.mu.Unlock()
	return len(ts.web.pending)
}
