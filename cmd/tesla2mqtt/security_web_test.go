package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// The status page's login as `run` serves it on all interfaces, as in a
// container: without [http] password_hash the page is read-only and says
// what to configure; with it, the password is asked and the redirect URI
// is the configured one whatever Host the browser sends.
func TestSecurityWebLoginBeyondLoopback(t *testing.T) {
	sim := httptest.NewServer(fleetsim.New(fleetsim.Options{}))
	t.Cleanup(sim.Close)
	const pw = "a long page passphrase"
	hash, _ := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	for _, c := range []struct {
		name, hash string
	}{{"no password", ""}, {"password", string(hash)}} {
		t.Run(c.name, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(obFreeAddr(t))
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "config.toml")
			extra := ""
			if c.hash != "" {
				extra = "password_hash = \"" + c.hash + "\"\n"
			}
			peerWriteFile(t, cfgPath, "state_dir = \""+filepath.Join(dir, "state")+"\"\n"+
				"[tesla]\nclient_id = \"app\"\nclient_secret = \""+obTestSecret+"\"\napi_base_url = \""+sim.URL+"\"\nauth_base_url = \""+sim.URL+"\"\n"+
				"redirect_uri = \"https://bridge.example.net/auth/callback\"\n"+
				"[broker]\naddr = \"127.0.0.1:0\"\n[http]\naddr = \"0.0.0.0:"+port+"\"\n"+extra)
			out := newObSyncBuf()
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- cmdRun(ctx, []string{"-c", cfgPath}, out, out) }()
			t.Cleanup(func() { cancel(); <-done })
			out.waitFor(t, "status page, /healthz and /metrics")
			base := "http://127.0.0.1:" + port

			jar, _ := cookiejar.New(nil)
			b := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			page := webGet(t, b, base+"/")
			token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
			if c.hash == "" {
				if !strings.Contains(page, `id="login-off"`) || !strings.Contains(page, "password_hash") || token != nil {
					t.Fatalf("the page offers a login on 0.0.0.0 without a password, or does not say why not:\n%s", page)
				}
				if !strings.Contains(out.String(), "without [http] password_hash") {
					t.Errorf("no warning in the log:\n%s", out.String())
				}
				// Even a well-formed form is refused.
				code, body, _ := webPost(t, b, base+"/auth/start", "", url.Values{})
				if code != http.StatusForbidden || !strings.Contains(body, "password_hash") {
					t.Errorf("start = %d:\n%s", code, body)
				}
				return
			}
			if token == nil || !strings.Contains(page, `type="password"`) {
				t.Fatalf("no password field on the page:\n%s", page)
			}
			if code, _, _ := webPost(t, b, base+"/auth/start", "", url.Values{"csrf": {token[1]}, "password": {"guess"}}); code != http.StatusForbidden {
				t.Errorf("a wrong password = %d, want 403", code)
			}
			code, body, loc := webPost(t, b, base+"/auth/start", "evil.example", url.Values{"csrf": {token[1]}, "password": {pw}})
			u, _ := url.Parse(loc)
			if code != http.StatusSeeOther || u.Query().Get("redirect_uri") != "https://bridge.example.net/auth/callback" {
				t.Errorf("start with the password = %d → %s; want 303 with the configured redirect_uri:\n%s", code, loc, body)
			}
			obAssertNoSecrets(t, "log", out.String(), pw)
		})
	}
}

func webGet(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// webPost posts a form, with another Host header when host is set.
func webPost(t *testing.T, c *http.Client, u, host string, form url.Values) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if host != "" {
		// The jar keys cookies by Request.Host, so it would send none.
		for _, ck := range c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}
