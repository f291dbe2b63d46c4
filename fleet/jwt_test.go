package fleet

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// authJWT builds an unsigned-looking JWT whose payload is claims.
func authJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + ".c2lnbmF0dXJl"
}

func TestJWTParseClaims(t *testing.T) {
	full := map[string]any{
		"iss": "https://auth.tesla.com/oauth2/v3/nts", "sub": "user-uuid", "azp": "client-1",
		"aud":     []string{BaseURLNA, BaseURLEU, "https://auth.tesla.com/oauth2/v3/userinfo"},
		"scp":     []string{"openid", "offline_access", "vehicle_device_data"},
		"ou_code": "EU", "iat": 1700000000, "exp": 1700028800,
	}
	c, err := ParseClaims(authJWT(t, full))
	if err != nil {
		t.Fatal(err)
	}
	want := &Claims{
		Issuer: "https://auth.tesla.com/oauth2/v3/nts", Subject: "user-uuid", ClientID: "client-1",
		Audience: []string{BaseURLNA, BaseURLEU, "https://auth.tesla.com/oauth2/v3/userinfo"},
		Scopes:   []string{"openid", "offline_access", "vehicle_device_data"},
		OUCode:   "EU", IssuedAt: time.Unix(1700000000, 0).UTC(), ExpiresAt: time.Unix(1700028800, 0).UTC(),
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("claims = %+v\nwant %+v", c, want)
	}
	if c.ExpiresAt.Sub(c.IssuedAt) != 8*time.Hour || c.Region() != "eu" || !c.HasScope("openid") || c.HasScope("energy_cmds") {
		t.Errorf("derived values wrong: %+v", c)
	}

	// String forms of aud and scp, float times.
	c, err = ParseClaims(authJWT(t, map[string]any{"aud": BaseURLNA, "scp": "openid  user_data", "exp": 1700000000.5}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Audience, []string{BaseURLNA}) || !reflect.DeepEqual(c.Scopes, []string{"openid", "user_data"}) {
		t.Errorf("string forms: aud %q scp %q", c.Audience, c.Scopes)
	}
	// Times are whole seconds (golang-jwt's NumericDate precision).
	if c.ExpiresAt != time.Unix(1700000000, 0).UTC() || !c.IssuedAt.IsZero() {
		t.Errorf("times: %v %v", c.IssuedAt, c.ExpiresAt)
	}

	// Padded base64url is accepted.
	tok := authJWT(t, map[string]any{"sub": "ab"})
	parts := strings.Split(tok, ".")
	if pad := len(parts[1]) % 4; pad != 0 {
		parts[1] += strings.Repeat("=", 4-pad)
	}
	if c, err := ParseClaims(strings.Join(parts, ".")); err != nil || c.Subject != "ab" {
		t.Errorf("padded payload: %v %v", c, err)
	}
}

func TestJWTParseClaimsMalformed(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	secret := "SECRETPAYLOADxyz"
	h := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) // a good header: the claims must be what fails
	for name, tok := range map[string]string{
		"empty":       "",
		"one part":    secret,
		"four parts":  "a.b.c." + secret,
		"bad header":  "h." + enc([]byte(`{"sub":"`+secret+`"}`)) + ".sig",
		"bad base64":  h + "." + secret + "!!!.sig",
		"not json":    h + "." + enc([]byte(secret)) + ".sig",
		"json array":  h + "." + enc([]byte(`["`+secret+`"]`)) + ".sig",
		"aud number":  h + "." + enc([]byte(`{"aud":42,"sub":"`+secret+`"}`)) + ".sig",
		"scp object":  h + "." + enc([]byte(`{"scp":{"a":"`+secret+`"}}`)) + ".sig",
		"exp string":  h + "." + enc([]byte(`{"exp":"`+secret+`"}`)) + ".sig",
		"truncated":   h + "." + enc([]byte(`{"sub":`)) + ".sig",
		"bad sig b64": h + "." + enc([]byte(`{"sub":"`+secret+`"}`)) + ".!!!",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseClaims(tok)
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("err = %v, want ErrMalformedToken", err)
			}
			if strings.Contains(err.Error(), secret) || (tok != "" && strings.Contains(err.Error(), tok)) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestJWTRegionAndBaseURL(t *testing.T) {
	for code, want := range map[string]string{"NA": "na", "eu": "eu", " CN ": "cn", "": "", "XX": ""} {
		if got := (&Claims{OUCode: code}).Region(); got != want {
			t.Errorf("Region(%q) = %q, want %q", code, got, want)
		}
	}
	for region, want := range map[string]string{"na": BaseURLNA, "EU": BaseURLEU, "cn": BaseURLCN, "": "", "ap": ""} {
		if got := BaseURLForRegion(region); got != want {
			t.Errorf("BaseURLForRegion(%q) = %q, want %q", region, got, want)
		}
	}
}

// TestJWTParseClaimsAnyAlgorithm: the claims are read whatever the header's
// algorithm, since nothing is verified (fleetsim signs with "none").
func TestJWTParseClaimsAnyAlgorithm(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	payload := enc([]byte(`{"sub":"u","ou_code":"EU","scp":["openid"]}`))
	for _, header := range []string{`{"alg":"none"}`, `{"alg":"Tesla.Unknown"}`, `{"typ":"JWT"}`} {
		c, err := ParseClaims(enc([]byte(header)) + "." + payload + ".")
		if err != nil || c.Subject != "u" || c.Region() != "eu" || !c.HasScope("openid") {
			t.Errorf("header %s: %+v, %v", header, c, err)
		}
	}
}
