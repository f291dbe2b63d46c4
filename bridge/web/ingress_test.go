package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// ingressPrefix is what Home Assistant puts in front of the add-on's page.
const testPrefix = "/api/hassio_ingress/Xk3-token_42"

// haProxy plays Home Assistant with Ingress: it serves the add-on's page
// under a prefix, sets X-Ingress-Path and the user header as the
// Supervisor does (dropping any the browser sent), and frames the page in
// a page of its own at /, as Home Assistant's sidebar does. /landing is
// any other page, where a redirect URI that does not lead to the add-on
// sends the browser.
type haProxy struct {
	*httptest.Server
	web *testServer
}

// newHAProxy starts the proxy and the add-on's page behind it. The page
// listens on all interfaces as in the add-on, and takes the proxy's
// address (loopback here, 172.30.32.2 in Home Assistant) as the Ingress
// peer. paste sends Tesla's redirect to /landing instead of the page.
func newHAProxy(t *testing.T, paste bool, saved *[]*fleet.Token) *haProxy {
	t.Helper()
	hp := &haProxy{}
	mux := http.NewServeMux()
	hp.Server = httptest.NewServer(mux)
	t.Cleanup(hp.Close)
	redirect := hp.URL + testPrefix + "/auth/callback"
	if paste {
		redirect = hp.URL + "/landing/callback"
	}
	hp.web = newTestServer(t, func(o *Options, _ string) {
		o.Login = simLogin(t, redirect, saved)
		o.Access = Access{Listen: "0.0.0.0:8088", IngressPeer: netip.MustParseAddr("127.0.0.1")}
		o.SpendDays = sampleDays
	})
	target, _ := url.Parse(hp.web.URL)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, testPrefix)
		r.Out.URL.RawPath = ""
		for _, h := range []string{"X-Ingress-Path", "X-Remote-User-Id", "X-Remote-User-Name"} {
			r.Out.Header.Del(h)
		}
		r.Out.Header.Set("X-Ingress-Path", testPrefix)
		r.Out.Header.Set("X-Remote-User-Id", "8c1e0b9d")
	}}
	mux.Handle(testPrefix+"/", rp)
	mux.HandleFunc("/landing/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "This site can't be reached (a stand-in)", http.StatusNotFound)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Home Assistant</title>
<style>body{margin:0;font:15px system-ui,sans-serif;display:flex;flex-direction:column;height:100vh}
.bar{background:#03a9f4;color:#fff;padding:.8rem 1rem;font-weight:500}iframe{border:0;flex:1;width:100%%}</style></head>
<body><div class="bar">☰ Tesla</div><iframe id="ingress" src="%s/"></iframe></body></html>`, testPrefix)
	})
	return hp
}

var reLink = regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)

// checkLinks fails on a link, form or asset of our own that escapes the
// prefix: under Ingress it would land on Home Assistant, not the add-on.
func checkLinks(t *testing.T, where, body string) {
	t.Helper()
	for _, m := range reLink.FindAllStringSubmatch(body, -1) {
		l := m[1]
		if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, testPrefix+"/") {
			continue
		}
		if strings.HasPrefix(l, "http://127.0.0.1") && strings.Contains(l, "/oauth2/v3/authorize") {
			continue // fleetsim plays auth.tesla.com
		}
		t.Errorf("%s: link %q is outside %s", where, l, testPrefix)
	}
}

// The whole browser login through a proxy that serves the page under a
// prefix: every link, form and redirect stays under it.
func TestIngressLoginRoundTripThroughAProxy(t *testing.T) {
	var saved []*fleet.Token
	hp := newHAProxy(t, false, &saved)
	b := browser(t, true)
	code, page := get(t, b, hp.URL+testPrefix+"/")
	if code != 200 || !strings.Contains(page, "Red Three") {
		t.Fatalf("the page through the proxy: %d\n%s", code, page)
	}
	checkLinks(t, "status page", page)
	for _, m := range reLink.FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[1], testPrefix+"/static/") {
			if c, _ := get(t, b, hp.URL+m[1]); c != 200 {
				t.Errorf("asset %s = %d", m[1], c)
			}
		}
	}
	code, start, _ := post(t, b, hp.URL+testPrefix+"/auth/start", url.Values{"csrf": {csrf(t, page)}})
	if code != 200 {
		t.Fatalf("start through the proxy = %d:\n%s", code, start)
	}
	checkLinks(t, "start page", start)
	auth, _ := url.Parse(teslaLink(t, start))
	if got := auth.Query().Get("redirect_uri"); got != hp.URL+testPrefix+"/auth/callback" {
		t.Errorf("redirect_uri = %q", got)
	}
	// The tab Tesla opens follows the redirect back through the proxy.
	code, result := get(t, b, auth.String())
	if code != 200 || !strings.Contains(result, "Logged in with Tesla") || len(saved) != 1 {
		t.Fatalf("the callback through the proxy = %d (%d tokens):\n%s", code, len(saved), result)
	}
	checkLinks(t, "result page", result)
	// A refused form under the prefix points back under the prefix too.
	code, refused, _ := post(t, b, hp.URL+testPrefix+"/auth/start", url.Values{"csrf": {"stale"}})
	if code != http.StatusForbidden {
		t.Errorf("stale form = %d", code)
	}
	checkLinks(t, "message page", refused)
}
