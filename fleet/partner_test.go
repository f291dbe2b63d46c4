package fleet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestRegisterPartnerAccount(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/partner_accounts": serve(200, `{"response":{"client_id":"app","domain":"app.example.com","public_key":"04ab"}}`),
	})
	env := newTestClient(t, f.URL)
	pa, err := env.c.RegisterPartnerAccount(context.Background(), "https://app.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Method != "POST" || r.Body != `{"domain":"app.example.com"}` || pa.Domain != "app.example.com" {
		t.Errorf("request %+v, answer %+v", r, pa)
	}
}

func TestRegisterPartnerAccountNotRegisteredRegion(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/partner_accounts": serve(412, `{"response":null,"error":"Account app must be registered in the current region","error_description":""}`),
	})
	env := newTestClient(t, f.URL)
	if _, err := env.c.RegisterPartnerAccount(context.Background(), "app.example.com"); !errors.Is(err, fleet.ErrNotRegistered) {
		t.Fatalf("err = %v, want ErrNotRegistered", err)
	}
}

func TestPartnerPublicKeyForms(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	local := fleet.PublicKeyPEM(priv)
	hexKey := fleet.PublicKeyHex(local)
	if len(hexKey) != 130 || hexKey[:2] != "04" {
		t.Fatalf("PublicKeyHex = %q, want an uncompressed point", hexKey)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, tc := range map[string]struct {
		body string
		same bool
	}{
		"hex":   {`{"response":{"public_key":"` + hexKey + `"}}`, true},
		"other": {`{"response":{"public_key":"` + fleet.PublicKeyHex(fleet.PublicKeyPEM(other)) + `"}}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/partner_accounts/public_key": serve(200, tc.body)})
			env := newTestClient(t, f.URL)
			got, err := env.c.PartnerPublicKey(context.Background(), "app.example.com")
			if err != nil {
				t.Fatal(err)
			}
			if fleet.SamePublicKey(got, local) != tc.same {
				t.Errorf("same = %v, want %v", !tc.same, tc.same)
			}
			if q := f.last(t).RawQuery; q != "domain=app.example.com" {
				t.Errorf("query = %q", q)
			}
		})
	}
	f := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/partner_accounts/public_key": serve(200, `{"response":{"public_key":"zz"}}`)})
	env := newTestClient(t, f.URL)
	if _, err := env.c.PartnerPublicKey(context.Background(), "app.example.com"); !errors.Is(err, fleet.ErrMalformed) {
		t.Fatalf("garbage key: err = %v, want ErrMalformed", err)
	}
}
