package fleetsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// UserID is the "sub" of every token the simulator mints: the simulated
// account's user id.
const UserID = "6f1c9e62-7d3a-4a8e-9b8e-5f3c2a1d0e01"

// ClientID is the "azp" of every minted token.
const ClientID = "fleetsim-client"

// tokenClaims are the JWT claims the simulator reads and writes
// (FLEET_API §1.6).
type tokenClaims struct {
	Iss    string   `json:"iss"`
	Sub    string   `json:"sub"`
	Azp    string   `json:"azp"`
	Aud    []string `json:"aud"`
	Scp    []string `json:"scp"`
	OUCode string   `json:"ou_code"`
	Iat    int64    `json:"iat"`
	Exp    int64    `json:"exp"`
	Jti    string   `json:"jti"`
}

func (c *tokenClaims) has(scope string) bool {
	for _, s := range c.Scp {
		if s == scope {
			return true
		}
	}
	return false
}

// hasAny reports whether the token holds at least one of scopes (true for none).
func (c *tokenClaims) hasAny(scopes []string) bool {
	if len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		if c.has(s) {
			return true
		}
	}
	return false
}

// MintToken returns an access token the simulator accepts: an unsigned JWT
// ("<header>.<payload>." with alg "none") carrying Tesla's claims — iss
// (Options.Issuer), sub, azp, aud (the three regional Fleet hosts and the
// issuer), scp (scopes), ou_code (Options.Region), iat and exp from the
// simulator's clock, and a random jti. Code under test decodes it like a
// real token to learn scopes and region. ttl <= 0 means Tesla's 8 h.
func (s *Sim) MintToken(scopes []string, ttl time.Duration) string {
	if ttl <= 0 {
		ttl = 8 * time.Hour
	}
	now := s.clock.Now()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	claims := tokenClaims{
		Iss:    s.opts.Issuer,
		Sub:    UserID,
		Azp:    ClientID,
		Aud:    []string{fleet.BaseURLNA, fleet.BaseURLEU, fleet.BaseURLCN, s.opts.Issuer},
		Scp:    append([]string{}, scopes...),
		OUCode: s.opts.Region,
		Iat:    now.Unix(),
		Exp:    now.Add(ttl).Unix(),
		Jti:    hex.EncodeToString(jti[:]),
	}
	if claims.Scp == nil {
		claims.Scp = []string{}
	}
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "."
}

// authenticate checks the bearer token against the issuer and the sim
// clock. On failure it returns the 401 response to send.
func (s *Sim) authenticate(r *http.Request, now time.Time) (*tokenClaims, response, bool) {
	invalid := apiError(http.StatusUnauthorized, errInvalidToken).
		with("WWW-Authenticate", `Bearer error="invalid_token"`)
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil, invalid, false
	}
	claims, good := parseToken(strings.TrimSpace(h[len(prefix):]))
	if !good || claims.Iss != s.opts.Issuer {
		return nil, invalid, false
	}
	if claims.Exp == 0 || now.Unix() >= claims.Exp {
		return nil, apiError(http.StatusUnauthorized, errTokenExpired).
			with("WWW-Authenticate", `Bearer error="invalid_token", error_description="token expired"`), false
	}
	return claims, response{}, true
}

// parseToken decodes a JWT's payload without checking any signature: the
// simulator trusts its own issuer claim.
func parseToken(tok string) (*tokenClaims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, false
	}
	return &c, true
}
