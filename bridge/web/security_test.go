package web

// Regression tests for the attacks on the page's login (issue "A command
// runs once, when meant, for whom it was meant", item 4): anyone who can
// start a login can replace the bridge's Tesla token with their own.

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// visit requests path from a peer address, as that client's browser with
// the given cookie, and returns the recorder.
func visit(s *Server, method, path, peer string, cookie *http.Cookie, form url.Values, header http.Header) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, "http://tesla2mqtt.local:8088"+path, body)
	req.RemoteAddr = peer + ":40000"
	if strings.Contains(peer, ":") {
		req.RemoteAddr = "[" + peer + "]:40000"
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// session loads the status page as a browser at peer and returns its
// session cookie and the page's CSRF token.
func session(t *testing.T, s *Server, peer string, header http.Header) (*http.Cookie, string) {
	t.Helper()
	rec := visit(s, http.MethodGet, "/", peer, nil, nil, header)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("status page set %d cookies, want the session", len(cookies))
	}
	return cookies[0], csrf(t, rec.Body.String())
}

const pagePassword = "correct horse battery staple"

func testHash(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pagePassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// newSecured serves the page on all interfaces with a page password, as a
// Docker user would; its redirect URI is configured, never derived.
func newSecured(t *testing.T, access Access, mc *clock.Manual) *testServer {
	t.Helper()
	return newTestServer(t, func(o *Options, _ string) {
		o.Login = simLogin(t, "https://bridge.example.net/auth/callback", nil)
		o.Access = access
		if mc != nil {
			o.Clock = mc
		}
	})
}

func TestSecurityGetAuthStartDoesNothing(t *testing.T) {
	ts := newSecured(t, Access{Listen: "127.0.0.1:8088"}, nil)
	rec := visit(ts.web, http.MethodGet, "/auth/start", "127.0.0.1", nil, nil, nil)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Location") != "" {
		t.Errorf("GET /auth/start = %d, Location %q; want 405 and no redirect", rec.Code, rec.Header().Get("Location"))
	}
	if !strings.Contains(rec.Body.String(), "Log in with Tesla button") {
		t.Errorf("the answer does not say how to log in:\n%s", rec.Body)
	}
	if n := ts.pendingCount(); n != 0 {
		t.Errorf("a GET left %d logins open", n)
	}
}

func TestSecurityPostNeedsTheCSRFToken(t *testing.T) {
	ts := newSecured(t, Access{Listen: "127.0.0.1:8088"}, nil)
	cookie, token := session(t, ts.web, "127.0.0.1", nil)
	other, otherToken := session(t, ts.web, "127.0.0.1", nil)
	for _, c := range []struct {
		name   string
		cookie *http.Cookie
		form   url.Values
	}{
		{"no token", cookie, url.Values{}},
		{"wrong token", cookie, url.Values{"csrf": {"AAAA" + token[4:]}}},
		{"another session's token", cookie, url.Values{"csrf": {otherToken}}},
		{"token without its cookie", nil, url.Values{"csrf": {token}}},
	} {
		for _, path := range []string{"/auth/start", "/auth/paste"} {
			rec := visit(ts.web, http.MethodPost, path, "127.0.0.1", c.cookie, c.form, nil)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Reload the status page") &&
				!strings.Contains(rec.Body.String(), "Start the login again") {
				t.Errorf("%s to %s = %d, want 403 saying to reload:\n%s", c.name, path, rec.Code, rec.Body)
			}
		}
	}
	if n := ts.pendingCount(); n != 0 {
		t.Errorf("refused posts left %d logins open", n)
	}
	// The right token of each session works.
	if rec := visit(ts.web, http.MethodPost, "/auth/start", "127.0.0.1", other, url.Values{"csrf": {otherToken}}, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("a valid form = %d, want 303 to Tesla", rec.Code)
	}
}

func TestSecurityHostHeaderDoesNotChangeRedirectURI(t *testing.T) {
	ts := newSecured(t, Access{Listen: "127.0.0.1:8088"}, nil)
	h := http.Header{"X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"https"}, "X-Ingress-Path": {"/evil"}}
	cookie, token := session(t, ts.web, "127.0.0.1", h)
	req := httptest.NewRequest(http.MethodPost, "http://evil.example/auth/start", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Host = "evil.example"
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		req.Header[k] = v
	}
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	ts.web.ServeHTTP(rec, req)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || err != nil {
		t.Fatalf("start = %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if got := loc.Query().Get("redirect_uri"); got != "https://bridge.example.net/auth/callback" {
		t.Errorf("redirect_uri = %q, want the configured one", got)
	}
}

func TestSecurityStartsFromOneClientDoNotLockOutAnother(t *testing.T) {
	mc := clock.NewManual(testNow)
	ts := newSecured(t, Access{Listen: "0.0.0.0:8088", PasswordHash: testHash(t)}, mc)
	start := func(peer string, cookie *http.Cookie, token, pw string) int {
		return visit(ts.web, http.MethodPost, "/auth/start", peer, cookie, url.Values{"csrf": {token}, "password": {pw}}, nil).Code
	}
	a, aToken := session(t, ts.web, "192.0.2.10", nil)
	var codes []int
	for range 17 {
		codes = append(codes, start("192.0.2.10", a, aToken, pagePassword))
	}
	if codes[0] != http.StatusSeeOther || codes[maxStartsPerWin-1] != http.StatusSeeOther || codes[16] != http.StatusTooManyRequests {
		t.Errorf("17 starts from one client answered %v: want %d logins, then 429", codes, maxStartsPerWin)
	}
	if n := ts.pendingCount(); n > maxOpenPerClient {
		t.Errorf("one client holds %d open logins, want at most %d", n, maxOpenPerClient)
	}
	b, bToken := session(t, ts.web, "192.0.2.20", nil)
	if c := start("192.0.2.20", b, bToken, pagePassword); c != http.StatusSeeOther {
		t.Errorf("another client after the first one's 17 starts = %d, want 303 to Tesla", c)
	}
	// Wrong passwords lock out their own client only, and only for a while.
	c6, c6Token := session(t, ts.web, "2001:db8:1:2::7", nil)
	for range maxFailuresPerWin {
		if c := start("2001:db8:1:2::7", c6, c6Token, "guess"); c != http.StatusForbidden {
			t.Fatalf("a wrong password = %d, want 403", c)
		}
	}
	// The same /64 is the same client, right password or not.
	if c := start("2001:db8:1:2::8", c6, c6Token, pagePassword); c != http.StatusTooManyRequests {
		t.Errorf("after %d wrong passwords = %d, want 429", maxFailuresPerWin, c)
	}
	if c := start("192.0.2.20", b, bToken, pagePassword); c != http.StatusSeeOther {
		t.Errorf("a client with no wrong password = %d, want 303", c)
	}
	mc.Advance(limitWindow)
	if c := start("2001:db8:1:2::8", c6, c6Token, pagePassword); c != http.StatusSeeOther {
		t.Errorf("after the window = %d, want 303", c)
	}
}

func TestSecurityNonLoopbackWithoutPasswordRefusesLogin(t *testing.T) {
	ts := newSecured(t, Access{Listen: "0.0.0.0:8088"}, nil)
	page := visit(ts.web, http.MethodGet, "/", "192.0.2.10", nil, nil, nil)
	body := page.Body.String()
	if strings.Contains(body, `id="login-form"`) || !strings.Contains(body, `id="login-off"`) ||
		!strings.Contains(body, "password_hash") || !strings.Contains(body, "tesla2mqtt hash-password") || !strings.Contains(body, "0.0.0.0:8088") {
		t.Errorf("the page does not say why the login is off and what to configure:\n%s", body)
	}
	cookie := page.Result().Cookies()[0]
	token := ts.web.csrfToken(cookie.Value)
	rec := visit(ts.web, http.MethodPost, "/auth/start", "192.0.2.10", cookie, url.Values{"csrf": {token}}, nil)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "password_hash") {
		t.Errorf("start on 0.0.0.0 without a password = %d:\n%s", rec.Code, rec.Body)
	}
	if n := ts.pendingCount(); n != 0 {
		t.Errorf("%d logins open", n)
	}
	// Loopback needs no password; a configured password is asked everywhere.
	lo := newSecured(t, Access{Listen: "[::1]:8088"}, nil)
	if body := visit(lo.web, http.MethodGet, "/", "::1", nil, nil, nil).Body.String(); !strings.Contains(body, `id="login-form"`) || strings.Contains(body, `type="password"`) {
		t.Errorf("loopback page: want the button without a password field")
	}
	pw := newSecured(t, Access{Listen: "127.0.0.1:8088", PasswordHash: testHash(t)}, nil)
	if body := visit(pw.web, http.MethodGet, "/", "127.0.0.1", nil, nil, nil).Body.String(); !strings.Contains(body, `type="password"`) {
		t.Errorf("with password_hash set the page asks no password")
	}
}

// In the add-on the page listens on 0.0.0.0 for the Supervisor's Ingress
// proxy. Only that peer is Ingress: its header sets the prefix and its
// users log in without a page password, because Home Assistant checked
// them. The same header from any other peer changes nothing.
func TestSecurityIngressTrustedOnlyFromTheSupervisor(t *testing.T) {
	ts := newSecured(t, Access{Listen: "0.0.0.0:8088", IngressPeer: SupervisorIngress}, nil)
	h := http.Header{"X-Ingress-Path": {"/api/hassio_ingress/AbC123"}, "X-Remote-User-Id": {"u1"}}
	via := visit(ts.web, http.MethodGet, "/", "172.30.32.2", nil, nil, h)
	body := via.Body.String()
	if !strings.Contains(body, `href="/api/hassio_ingress/AbC123/static/style.css"`) || !strings.Contains(body, `action="/api/hassio_ingress/AbC123/auth/start"`) {
		t.Errorf("through Ingress the links lack the prefix:\n%s", body)
	}
	if via.Header().Get("X-Frame-Options") != "SAMEORIGIN" || !strings.Contains(via.Header().Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		t.Errorf("Home Assistant cannot frame the page: %v", via.Header())
	}
	if c := via.Result().Cookies()[0]; c.Path != "/api/hassio_ingress/AbC123/" {
		t.Errorf("session cookie path %q, want the Ingress prefix", c.Path)
	}
	cookie := via.Result().Cookies()[0]
	start := visit(ts.web, http.MethodPost, "/auth/start", "172.30.32.2", cookie, url.Values{"csrf": {csrf(t, body)}}, h)
	if start.Code != 200 || !strings.Contains(start.Body.String(), `target="_blank"`) || !strings.Contains(start.Body.String(), `action="/api/hassio_ingress/AbC123/auth/paste"`) {
		t.Errorf("an Ingress login must open Tesla in a tab of its own, not in Home Assistant's frame: %d\n%s", start.Code, start.Body)
	}

	// Another peer: no prefix, no frame, no login.
	other := visit(ts.web, http.MethodGet, "/", "172.30.33.5", nil, nil, h)
	body = other.Body.String()
	if strings.Contains(body, "hassio_ingress") || other.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("the Ingress header from another peer was trusted:\n%s", body)
	}
	if !strings.Contains(body, `id="login-off"`) || !strings.Contains(body, "through Home Assistant") {
		t.Errorf("a direct visitor of the add-on page is not told to use Home Assistant:\n%s", body)
	}
	oc := other.Result().Cookies()[0]
	if rec := visit(ts.web, http.MethodPost, "/auth/start", "172.30.33.5", oc, url.Values{"csrf": {ts.web.csrfToken(oc.Value)}}, h); rec.Code != http.StatusForbidden {
		t.Errorf("a login from another peer with the Ingress header = %d, want 403", rec.Code)
	}

	// A malformed prefix from the Supervisor is not echoed into the page.
	for _, bad := range []string{`/x" onload="alert(1)`, "//evil.example/x", "/a/../b", "https://evil.example/"} {
		rec := visit(ts.web, http.MethodGet, "/", "172.30.32.2", nil, nil, http.Header{"X-Ingress-Path": {bad}})
		if strings.Contains(rec.Body.String(), "evil") || strings.Contains(rec.Body.String(), "alert") {
			t.Errorf("prefix %q reached the page", bad)
		}
	}
}

func TestSecurityIngressPeerIsAnAddressNotAHeader(t *testing.T) {
	s := &Server{opts: Options{Access: Access{IngressPeer: netip.MustParseAddr("172.30.32.2")}}}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Ingress-Path", "/api/hassio_ingress/t")
	req.Header.Set("X-Forwarded-For", "172.30.32.2")
	req.RemoteAddr = "192.0.2.1:1234"
	if ri := s.classify(req); ri.ingress || ri.base != "" {
		t.Errorf("X-Forwarded-For made a peer Ingress: %+v", ri)
	}
	req.RemoteAddr = "[::ffff:172.30.32.2]:1234"
	if ri := s.classify(req); !ri.ingress || ri.base != "/api/hassio_ingress/t" {
		t.Errorf("the Supervisor as a v4-mapped address is not Ingress: %+v", ri)
	}
}

// The paste flow finishes a login whose redirect URI does not lead back to
// the page, and no secret reaches the page or the log.
func TestSecurityPasteFlowKeepsSecrets(t *testing.T) {
	var saved []*fleet.Token
	var logs bytes.Buffer
	ts := newTestServer(t, func(o *Options, _ string) {
		o.Login = simLogin(t, "http://localhost:8099/callback", &saved)
		o.Logger = zerolog.New(&logs)
		o.Access = Access{Listen: "0.0.0.0:8088", PasswordHash: testHash(t)}
	})
	b := browser(t, false)
	_, page := get(t, b, ts.URL+"/")
	code, start, _ := post(t, b, ts.URL+"/auth/start", url.Values{"csrf": {csrf(t, page)}, "password": {pagePassword}})
	if code != 200 || !strings.Contains(start, "http://localhost:8099/callback") || !strings.Contains(start, "may show an error page") {
		t.Fatalf("paste mode start = %d:\n%s", code, start)
	}
	resp, err := b.Get(teslaLink(t, start))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	redirected := resp.Header.Get("Location")
	if !strings.HasPrefix(redirected, "http://localhost:8099/callback?") {
		t.Fatalf("Tesla sent the browser to %q", redirected)
	}
	code, body, _ := post(t, b, ts.URL+"/auth/paste", url.Values{"csrf": {csrf(t, start)}, "redirected": {"  " + redirected + "\n"}})
	if code != 200 || !strings.Contains(body, "Logged in with Tesla") || len(saved) != 1 {
		t.Fatalf("paste = %d (%d tokens saved):\n%s", code, len(saved), body)
	}
	code, body, _ = post(t, b, ts.URL+"/auth/paste", url.Values{"csrf": {csrf(t, start)}, "redirected": {redirected}})
	if code != 400 || !strings.Contains(body, "works once") {
		t.Errorf("the same address pasted twice = %d:\n%s", code, body)
	}
	q, _ := url.Parse(redirected)
	for _, secret := range []string{saved[0].AccessToken, saved[0].RefreshToken, q.Query().Get("code"), q.Query().Get("state"), pagePassword, "s3cret-client"} {
		if strings.Contains(body, secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("a secret reached the page or the log: %.12s…", secret)
		}
	}
	if !strings.Contains(logs.String(), "new Tesla token saved") {
		t.Errorf("the log does not record the login:\n%s", logs.String())
	}
}
