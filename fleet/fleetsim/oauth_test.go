package fleetsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// memStore is an in-memory fleet.TokenStore.
type memStore struct {
	mu  sync.Mutex
	tok *fleet.Token
}

func (m *memStore) Load() (*fleet.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return nil, fleet.ErrNoToken
	}
	cp := *m.tok
	return &cp, nil
}

func (m *memStore) Save(t *fleet.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *t
	m.tok = &cp
	return nil
}

func (e *env) authConfig() fleet.AuthConfig {
	return fleet.AuthConfig{ClientID: "app", ClientSecret: "sekret", RedirectURI: "http://localhost:8099/callback",
		AuthorizeURL: e.srv.URL + "/oauth2/v3/authorize", TokenURL: e.srv.URL + "/oauth2/v3/token",
		Audience: e.srv.URL, HTTPClient: e.srv.Client()}
}

// authorize follows the authorize URL up to the redirect to the callback.
func (e *env) authorize(req *fleet.AuthRequest) string {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(req.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize status = %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func (e *env) login(scopes []string) *fleet.Token {
	e.t.Helper()
	cfg := e.authConfig()
	cfg.Scopes = scopes
	req, err := fleet.NewAuthRequest(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	code, err := req.CodeFromRedirect(e.authorize(req))
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := fleet.Exchange(context.Background(), cfg, req, code, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func TestLoginGrantsWhatTheUserConsentedTo(t *testing.T) {
	e := newEnv(t)
	e.sim.SetGrantedScopes([]string{"openid", "offline_access", "vehicle_device_data"})
	tok := e.login(allScopes)
	c, err := fleet.ParseClaims(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Scopes, []string{"openid", "offline_access", "vehicle_device_data"}) || tok.RefreshToken == "" {
		t.Fatalf("scp = %v, refresh token present = %v", c.Scopes, tok.RefreshToken != "")
	}
	if tok.Region != "na" || !strings.HasPrefix(tok.RefreshToken, "NA_") {
		t.Errorf("region = %q", tok.Region)
	}
	// The token works against the simulated API within its scopes only.
	e.call("GET", "/api/1/vehicles", tok.AccessToken, "").want(t, http.StatusOK)
	e.call("GET", "/api/1/energy_sites/"+siteID+"/live_status", tok.AccessToken, "").wantError(t, http.StatusForbidden, errMissingScopes)
}

func TestCodeExchangeChecksPKCEAndSingleUse(t *testing.T) {
	e := newEnv(t)
	cfg := e.authConfig()
	req, _ := fleet.NewAuthRequest(cfg)
	code, err := req.CodeFromRedirect(e.authorize(req))
	if err != nil {
		t.Fatal(err)
	}
	forged := *req
	forged.Verifier = "not-the-verifier-not-the-verifier-not-the-v"
	if _, err := fleet.Exchange(context.Background(), cfg, &forged, code, e.clock.Now()); !errors.Is(err, fleet.ErrLoginRequired) {
		t.Fatalf("wrong verifier: err = %v, want invalid_grant", err)
	}
	// The failed attempt burnt the code: single use.
	if _, err := fleet.Exchange(context.Background(), cfg, req, code, e.clock.Now()); err == nil {
		t.Fatal("a used code was accepted again")
	}
	req2, _ := fleet.NewAuthRequest(cfg)
	code2, _ := req2.CodeFromRedirect(e.authorize(req2))
	e.clock.Advance(codeTTL + time.Second)
	if _, err := fleet.Exchange(context.Background(), cfg, req2, code2, e.clock.Now()); err == nil {
		t.Fatal("an expired code was accepted")
	}
}

func TestRefreshRotatesWithGraceAndLoginRequired(t *testing.T) {
	e := newEnv(t)
	tok := e.login(allScopes)
	store := &memStore{tok: tok}
	var loginRequired int
	ts, err := fleet.NewTokenSource(fleet.TokenSourceOptions{Store: store, ClientID: "app",
		TokenURL: e.srv.URL + "/oauth2/v3/token", HTTPClient: e.srv.Client(), Clock: e.clock,
		OnLoginRequired: func(error) { loginRequired++ }})
	if err != nil {
		t.Fatal(err)
	}
	first := tok.RefreshToken
	e.clock.Advance(8 * time.Hour)
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	second := ts.Current().RefreshToken
	if second == first || ts.Current().PreviousRefreshToken != first {
		t.Fatal("refresh did not rotate the refresh token")
	}
	// A lost answer: the just-used token still works within 24 h.
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {first}}
	if r := e.call("POST", "/oauth2/v3/token", "", form.Encode()); r.status != http.StatusOK {
		t.Fatalf("grace refresh: %d %s", r.status, r.raw)
	}
	e.clock.Advance(refreshGrace + time.Minute)
	if r := e.call("POST", "/oauth2/v3/token", "", form.Encode()); r.status != http.StatusUnauthorized || r.body["error"] != "login_required" {
		t.Fatalf("after the grace: %d %s", r.status, r.raw)
	}
	e.sim.RevokeTokens()
	e.clock.Advance(8 * time.Hour)
	if _, err := ts.Token(); !errors.Is(err, fleet.ErrLoginRequired) || loginRequired != 1 {
		t.Fatalf("revoked lineage: err = %v, callbacks = %d", err, loginRequired)
	}
}

func TestScopeChangeAppliesAtRefresh(t *testing.T) {
	e := newEnv(t)
	tok := e.login(allScopes)
	e.sim.SetGrantedScopes([]string{"openid", "offline_access", "vehicle_device_data"})
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {tok.RefreshToken}}
	r := e.call("POST", "/oauth2/v3/token", "", form.Encode())
	c, err := fleet.ParseClaims(r.body["access_token"].(string))
	if err != nil || slices.Contains(c.Scopes, "vehicle_location") {
		t.Fatalf("scopes after refresh = %v (%v)", c, err)
	}
}

func TestPartnerRegistrationAndPublicKey(t *testing.T) {
	e := newEnv(t)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := fleet.PublicKeyPEM(priv)
	ctx := context.Background()
	partner, err := fleet.PartnerToken(ctx, e.authConfig(), e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	client, err := fleet.New(fleet.Options{BaseURL: e.srv.URL, HTTPClient: e.srv.Client(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: partner})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.RegisterPartnerAccount(ctx, "app.example.com"); !errors.Is(err, fleet.ErrBadRequest) {
		t.Fatalf("register without a hosted key: err = %v", err)
	}
	if r := e.call("GET", wellKnownKeyURL, "", ""); r.status != http.StatusNotFound {
		t.Fatalf("no app key: status %d", r.status)
	}
	if err := e.sim.SetAppPublicKey(pub); err != nil {
		t.Fatal(err)
	}
	if r := e.call("GET", wellKnownKeyURL, "", ""); r.status != http.StatusOK || !fleet.SamePublicKey(r.raw, pub) {
		t.Fatalf(".well-known: %d %s", r.status, r.raw)
	}
	if _, err := client.PartnerPublicKey(ctx, "app.example.com"); !errors.Is(err, fleet.ErrNotFound) {
		t.Fatalf("unregistered read-back: err = %v", err)
	}
	if _, err := client.RegisterPartnerAccount(ctx, "app.example.com"); err != nil {
		t.Fatal(err)
	}
	got, err := client.PartnerPublicKey(ctx, "app.example.com")
	if err != nil || !fleet.SamePublicKey(got, pub) {
		t.Fatalf("read-back = %s, %v", got, err)
	}
	// A user token is refused on partner endpoints.
	e.call("GET", "/api/1/partner_accounts/public_key?domain=app.example.com", e.token, "").
		wantError(t, http.StatusUnauthorized, "This endpoint requires a partner authentication token")
}

func TestFleetStatusPairingAndSigning(t *testing.T) {
	e := newEnv(t)
	var fs fleet.FleetStatus
	e.post("/api/1/vehicles/fleet_status", `{"vins":["`+vinRed+`","`+vinBlue+`"]}`).decode(t, &fs)
	if !fs.KeyPaired(vinRed) || fs.KeyPaired(vinBlue) ||
		fs.VehicleInfo[vinRed].VehicleCommandProtocolRequired || !fs.VehicleInfo[vinBlue].VehicleCommandProtocolRequired {
		t.Fatalf("fleet_status = %+v", fs)
	}
	e.sim.SetKeyPaired(vinBlue, true)
	e.post("/api/1/vehicles/fleet_status", `{"vins":["`+vinBlue+`"]}`).decode(t, &fs)
	if !fs.KeyPaired(vinBlue) {
		t.Fatalf("after pairing: %+v", fs)
	}
}
