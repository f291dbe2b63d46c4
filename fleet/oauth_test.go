package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const authSecret = "shh-client-secret-42"

func authConfig(tokenURL string) AuthConfig {
	return AuthConfig{ClientID: "client-1", ClientSecret: authSecret, RedirectURI: "http://localhost:8765/callback", TokenURL: tokenURL}
}

func TestAuthRequestPKCEAndURL(t *testing.T) {
	req, err := NewAuthRequest(authConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(req.Verifier))
	if req.Challenge != base64.RawURLEncoding.EncodeToString(sum[:]) || len(req.Verifier) < 43 || len(req.State) < 22 {
		t.Errorf("PKCE: verifier %d chars, challenge %q", len(req.Verifier), req.Challenge)
	}
	u, err := url.Parse(req.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"response_type": "code", "client_id": "client-1", "redirect_uri": "http://localhost:8765/callback",
		"scope": strings.Join(DefaultScopes(), " "), "state": req.State, "code_challenge": req.Challenge,
		"code_challenge_method": "S256", "prompt_missing_scopes": "true", "locale": "en-US",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Scheme+"://"+u.Host+u.Path != DefaultAuthorizeURL || q.Has("prompt") || strings.Contains(req.URL(), authSecret) {
		t.Errorf("URL = %s", req.URL())
	}
	other, _ := NewAuthRequest(authConfig(""))
	if other.State == req.State || other.Verifier == req.Verifier {
		t.Error("state/verifier not random")
	}
	if _, err := NewAuthRequest(AuthConfig{ClientID: "c"}); err == nil {
		t.Error("missing redirect URI accepted")
	}
}

func TestAuthCodeFromRedirect(t *testing.T) {
	req, _ := NewAuthRequest(authConfig(""))
	const code = "NA_secretcode123"
	ok := "http://localhost:8765/callback?code=" + code + "&state=" + req.State + "&issuer=x"
	for _, raw := range []string{ok, "code=" + code + "&state=" + req.State, " " + ok + "#frag "} {
		if got, err := req.CodeFromRedirect(raw); err != nil || got != code {
			t.Errorf("CodeFromRedirect(%q) = %q, %v", raw, got, err)
		}
	}
	cases := map[string]struct {
		raw   string
		check func(error) bool
	}{
		"state mismatch": {"?code=" + code + "&state=other", func(err error) bool { return errors.Is(err, ErrStateMismatch) }},
		"tesla error": {"?error=access_denied&error_description=user+said+no&state=" + req.State, func(err error) bool {
			var oe *OAuthError
			return errors.As(err, &oe) && oe.Code == "access_denied" && strings.Contains(err.Error(), "user said no")
		}},
		"no state":   {"?code=" + code, func(err error) bool { return strings.Contains(err.Error(), "no state") }},
		"no code":    {"?state=" + req.State, func(err error) bool { return strings.Contains(err.Error(), "no code") }},
		"unparsable": {"?code=" + code + "%zz&state=" + req.State, func(err error) bool { return err != nil }},
	}
	for name, c := range cases {
		_, err := req.CodeFromRedirect(c.raw)
		if err == nil || !c.check(err) {
			t.Errorf("%s: err = %v", name, err)
			continue
		}
		authNoSecrets(t, err.Error(), code, req.Verifier)
	}
}

// authTokenEndpoint answers one token request with status and body after
// handing the form to check.
func authTokenEndpoint(t *testing.T, status int, body any, check func(url.Values)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("client credentials sent in a header; Tesla takes them as form fields")
		}
		if check != nil {
			check(r.PostForm)
		}
		w.Header().Set("Content-Type", "application/json") // as Tesla's token endpoint
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAuthExchange(t *testing.T) {
	req, _ := NewAuthRequest(authConfig(""))
	at := authJWT(t, map[string]any{"ou_code": "EU", "scp": []string{"openid"}})
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	u := authTokenEndpoint(t, 200, map[string]any{"access_token": at, "refresh_token": "EU_rt", "id_token": "idt",
		"token_type": "Bearer", "expires_in": 28800}, func(f url.Values) {
		want := map[string]string{"grant_type": "authorization_code", "client_id": "client-1", "client_secret": authSecret,
			"code": "EU_code", "code_verifier": req.Verifier, "redirect_uri": "http://localhost:8765/callback", "audience": BaseURLEU}
		for k, v := range want {
			if f.Get(k) != v {
				t.Errorf("form %s = %q, want %q", k, f.Get(k), v)
			}
		}
	})
	tok, err := Exchange(context.Background(), authConfig(u), req, "EU_code", now)
	if err != nil {
		t.Fatal(err)
	}
	want := Token{AccessToken: at, RefreshToken: "EU_rt", IDToken: "idt", TokenType: "Bearer",
		Expiry: now.Add(8 * time.Hour), Region: "eu", BaseURL: BaseURLEU, ObtainedAt: now}
	if *tok != want {
		t.Errorf("token = %+v", *tok)
	}
}

func TestAuthTokenEndpointErrors(t *testing.T) {
	req, _ := NewAuthRequest(authConfig(""))
	const code = "NA_the-code"
	for _, c := range []struct {
		status    int
		body      any
		loginReqd bool
	}{
		{400, map[string]string{"error": "invalid_grant", "error_description": "code " + code + " expired; secret " + authSecret}, true},
		{401, map[string]string{"error": "login_required"}, true},
		{401, map[string]string{"error": "invalid_client"}, false},
		{500, "oops", false},
		{200, map[string]string{"token_type": "Bearer"}, false},
	} {
		u := authTokenEndpoint(t, c.status, c.body, nil)
		_, err := Exchange(context.Background(), authConfig(u), req, code, time.Now())
		if err == nil || errors.Is(err, ErrLoginRequired) != c.loginReqd {
			t.Errorf("HTTP %d %v: err = %v, login required want %t", c.status, c.body, err, c.loginReqd)
			continue
		}
		var oe *OAuthError
		if c.status != 200 && (!errors.As(err, &oe) || oe.Status != c.status) {
			t.Errorf("HTTP %d: not an *OAuthError: %v", c.status, err)
		}
		authNoSecrets(t, err.Error(), code, authSecret, req.Verifier)
	}
}

func TestAuthPartnerToken(t *testing.T) {
	u := authTokenEndpoint(t, 200, map[string]any{"access_token": "partner-at", "expires_in": 28800}, func(f url.Values) {
		if f.Get("grant_type") != "client_credentials" || f.Get("client_secret") != authSecret || f.Get("audience") != BaseURLNA ||
			f.Get("scope") != "user_data vehicle_device_data vehicle_location vehicle_cmds vehicle_charging_cmds energy_device_data energy_cmds" {
			t.Errorf("partner form = %v", f)
		}
	})
	at, err := PartnerToken(context.Background(), authConfig(u), "")
	if err != nil || at != "partner-at" {
		t.Fatalf("PartnerToken = %q, %v", at, err)
	}
	cfg := authConfig(u)
	cfg.ClientSecret = ""
	if _, err := PartnerToken(context.Background(), cfg, BaseURLEU); err == nil {
		t.Error("no client secret accepted")
	}
}

// TestAuthErrorBodyWhateverItsType: Tesla's JSON error labelled text/plain
// still says login_required, so the user is told to log in again rather
// than the bridge retrying a dead grant.
func TestAuthErrorBodyWhateverItsType(t *testing.T) {
	req, _ := NewAuthRequest(authConfig(""))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"login_required","error_description":"expired"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := Exchange(context.Background(), authConfig(srv.URL), req, "NA_code", time.Now())
	var oe *OAuthError
	if !errors.Is(err, ErrLoginRequired) || !errors.As(err, &oe) || oe.Status != 401 || oe.Description != "expired" {
		t.Fatalf("err = %v, want login_required with its description", err)
	}
}
