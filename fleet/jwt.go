package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrMalformedToken: the access token is not a JWT whose payload we can read.
// Error messages built on it never contain the token or any part of it.
var ErrMalformedToken = errors.New("malformed access token")

// Claims are the parts of a Tesla access token the bridge cares about
// (FLEET_API.md §1.6).
type Claims struct {
	// Issuer is "iss".
	Issuer string
	// Subject is "sub", the user's UUID.
	Subject string
	// ClientID is "azp", the app the token was issued to.
	ClientID string
	// Audience is "aud": the API hosts the token is valid for. Tesla sends an
	// array; a single string is accepted too.
	Audience []string
	// Scopes is "scp": the scopes the user actually granted. Tesla sends an
	// array; a space-separated string (the OAuth "scope" form) is accepted too.
	Scopes []string
	// OUCode is "ou_code": the account's region, "NA", "EU" or "CN".
	OUCode string
	// IssuedAt is "iat" (zero when absent).
	IssuedAt time.Time
	// ExpiresAt is "exp" (zero when absent).
	ExpiresAt time.Time
}

// rawClaims are the claims as golang-jwt decodes them. aud and the times
// are the registered claims (aud as a string or an array, times as
// numbers); scp stays raw because Tesla sends an array but the OAuth form
// is a space-separated string.
type rawClaims struct {
	jwt.RegisteredClaims
	Azp    string          `json:"azp"`
	Scp    json.RawMessage `json:"scp"`
	OUCode string          `json:"ou_code"`
}

// ParseClaims decodes the payload of a Tesla access token with golang-jwt's
// ParseUnverified. Times are whole seconds, as Tesla issues them.
//
// The signature is deliberately not verified: the bridge is the token's
// holder, not its audience. Tesla's API verifies every request, so a forged
// token gains nothing; the bridge only reads the claims to learn the region,
// the granted scopes and the expiry, and a wrong value there merely makes a
// request fail. Verifying would also need Tesla's rotating signing keys.
func ParseClaims(accessToken string) (*Claims, error) {
	var raw rawClaims
	// Padding is allowed: RFC 7515 says without, but some encoders pad.
	_, _, err := jwt.NewParser(jwt.WithPaddingAllowed()).ParseUnverified(accessToken, &raw)
	// An algorithm golang-jwt does not know only matters for verifying;
	// the claims were decoded before it looked. golang-jwt's own text is
	// not wrapped: it can quote bytes of the token.
	if err != nil && !errors.Is(err, jwt.ErrTokenUnverifiable) {
		return nil, fmt.Errorf("%w: not a JWT whose header and claims decode", ErrMalformedToken)
	}
	c := &Claims{Issuer: raw.Issuer, Subject: raw.Subject, ClientID: raw.Azp, OUCode: raw.OUCode,
		Audience: raw.Audience, IssuedAt: numericTime(raw.IssuedAt), ExpiresAt: numericTime(raw.ExpiresAt)}
	if len(c.Audience) == 0 {
		c.Audience = nil
	}
	if c.Scopes, err = scopeList(raw.Scp); err != nil {
		return nil, fmt.Errorf("%w: scp is neither a string nor an array of strings", ErrMalformedToken)
	}
	return c, nil
}

// numericTime converts a NumericDate; an absent claim is the zero time.
func numericTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.UTC()
}

// scopeList decodes scp: an array of strings, or one space-separated string.
func scopeList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.Fields(s), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("not a string list")
	}
	return list, nil
}

// HasScope reports whether the token grants scope.
func (c *Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Region returns "na", "eu" or "cn" from ou_code, or "" when the code is
// absent or unknown (the caller then asks /api/1/users/region).
func (c *Claims) Region() string {
	switch r := strings.ToLower(strings.TrimSpace(c.OUCode)); r {
	case "na", "eu", "cn":
		return r
	default:
		return ""
	}
}

// BaseURLForRegion maps "na", "eu" or "cn" (any case) to the regional Fleet
// API host, or returns "" for anything else. Asia-Pacific accounts outside
// China report "NA" and use the NA host (FLEET_API.md §2.1).
func BaseURLForRegion(region string) string {
	switch strings.ToLower(strings.TrimSpace(region)) {
	case "na":
		return BaseURLNA
	case "eu":
		return BaseURLEU
	case "cn":
		return BaseURLCN
	default:
		return ""
	}
}
