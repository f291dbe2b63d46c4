package fleetsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// An unregistered app gets 412 on every user call until
// partner_accounts registers a domain; then the same token works.
func TestUnregisteredUntilRegistered(t *testing.T) {
	e := newEnv(t)
	e.sim.RequireRegistration(true)
	e.call("GET", "/api/1/products", e.token, "").want(t, http.StatusPreconditionFailed)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := e.sim.SetAppPublicKey(fleet.PublicKeyPEM(priv)); err != nil {
		t.Fatal(err)
	}
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
	if _, err := client.RegisterPartnerAccount(ctx, "app.example.com"); err != nil {
		t.Fatalf("register while unregistered: %v", err)
	}
	e.call("GET", "/api/1/products", e.token, "").want(t, http.StatusOK)
}

// A wrong region is for good: every call answers 421 naming the other host,
// until it is lifted.
func TestWrongRegionPersists(t *testing.T) {
	e := newEnv(t)
	e.sim.SetWrongRegion(fleet.BaseURLEU + "/")
	for range 3 {
		r := e.call("GET", "/api/1/vehicles", e.token, "")
		r.want(t, http.StatusMisdirectedRequest)
		if got := r.body["error"]; got != "user out of region, use base URL: "+fleet.BaseURLEU {
			t.Fatalf("421 body = %v", got)
		}
	}
	e.sim.SetWrongRegion("")
	e.call("GET", "/api/1/vehicles", e.token, "").want(t, http.StatusOK)
}

// A revoked login's access token is refused at once, hours before its
// expiry; a token minted outside any login is not affected.
func TestRevokedLoginRefusesItsAccessTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.login(allScopes)
	e.call("GET", "/api/1/vehicles", tok.AccessToken, "").want(t, http.StatusOK)
	e.sim.RevokeTokens()
	e.call("GET", "/api/1/vehicles", tok.AccessToken, "").wantError(t, http.StatusUnauthorized, errInvalidToken)
	e.call("GET", "/api/1/vehicles", e.token, "").want(t, http.StatusOK)
}
