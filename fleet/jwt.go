package fleet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
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

// rawClaims mirrors the JSON payload. aud and scp stay raw because their
// shape varies; iat and exp are json.Number because some issuers send floats.
type rawClaims struct {
	Iss    string          `json:"iss"`
	Sub    string          `json:"sub"`
	Azp    string          `json:"azp"`
	Aud    json.RawMessage `json:"aud"`
	Scp    json.RawMessage `json:"scp"`
	OUCode string          `json:"ou_code"`
	Iat    json.Number     `json:"iat"`
	Exp    json.Number     `json:"exp"`
}

// ParseClaims decodes the payload of a Tesla access token.
//
// The signature is deliberately not verified: the bridge is the token's
// holder, not its audience. Tesla's API verifies every request, so a forged
// token gains nothing; the bridge only reads the claims to learn the region,
// the granted scopes and the expiry, and a wrong value there merely makes a
// request fail. Verifying would also need Tesla's rotating signing keys.
func ParseClaims(accessToken string) (*Claims, error) {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want 3 dot-separated parts, got %d", ErrMalformedToken, len(parts))
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrMalformedToken)
	}
	var raw rawClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	// The decoder's own error text can quote payload bytes, so it is not wrapped.
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object of claims", ErrMalformedToken)
	}
	c := &Claims{Issuer: raw.Iss, Subject: raw.Sub, ClientID: raw.Azp, OUCode: raw.OUCode}
	if c.Audience, err = stringList(raw.Aud, false); err != nil {
		return nil, fmt.Errorf("%w: aud is neither a string nor an array of strings", ErrMalformedToken)
	}
	if c.Scopes, err = stringList(raw.Scp, true); err != nil {
		return nil, fmt.Errorf("%w: scp is neither a string nor an array of strings", ErrMalformedToken)
	}
	if c.IssuedAt, err = unixTime(raw.Iat); err != nil {
		return nil, fmt.Errorf("%w: iat is not a number", ErrMalformedToken)
	}
	if c.ExpiresAt, err = unixTime(raw.Exp); err != nil {
		return nil, fmt.Errorf("%w: exp is not a number", ErrMalformedToken)
	}
	return c, nil
}

// decodeSegment accepts base64url with or without padding (RFC 7515 says
// without, but some encoders pad).
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// stringList decodes a JSON string or array of strings. With split, a string
// is split on whitespace (the OAuth space-delimited scope form).
func stringList(raw json.RawMessage, split bool) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if split {
			return strings.Fields(s), nil
		}
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("not a string list")
	}
	return list, nil
}

// unixTime converts a NumericDate; an absent claim is the zero time.
func unixTime(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, errors.New("not a number")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
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
