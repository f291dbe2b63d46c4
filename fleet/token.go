package fleet

import (
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// Token is what the bridge persists about a user's authorisation.
//
// Never log a Token: String redacts the secrets, but encoding it (JSON,
// zerolog's Interface) does not.
type Token struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	// PreviousRefreshToken is the refresh token that produced this one. Tesla
	// keeps it valid for 24 h, which rescues a refresh whose result was lost.
	PreviousRefreshToken string    `json:"previous_refresh_token,omitempty"`
	TokenType            string    `json:"token_type"`
	Expiry               time.Time `json:"expiry"`
	IDToken              string    `json:"id_token,omitempty"`
	// Region is "na", "eu" or "cn" from the access token, "" if unknown.
	Region string `json:"region,omitempty"`
	// BaseURL is the Fleet API host of Region.
	BaseURL    string    `json:"base_url,omitempty"`
	ObtainedAt time.Time `json:"obtained_at"`
}

// String describes the token without any secret, so an accidental %v in a
// log line leaks nothing.
func (t Token) String() string {
	return fmt.Sprintf("fleet.Token{region: %q, expiry: %s, refresh: %t}",
		t.Region, t.Expiry.Format(time.RFC3339), t.RefreshToken != "")
}

// OAuth2 converts the token for golang.org/x/oauth2 users.
func (t *Token) OAuth2() *oauth2.Token {
	typ := t.TokenType
	if typ == "" {
		typ = "Bearer"
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: typ, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// tokenFromOAuth2 converts x/oauth2's answer. Its Expiry is computed on the
// wall clock, so expires_in is taken instead and counted from now, the
// injected clock's time of the answer.
func tokenFromOAuth2(ot *oauth2.Token, now time.Time) *Token {
	tr := tokenResponse{AccessToken: ot.AccessToken, RefreshToken: ot.RefreshToken, TokenType: ot.TokenType,
		ExpiresIn: ot.ExpiresIn}
	tr.IDToken, _ = ot.Extra("id_token").(string)
	return tr.token(now)
}

// token converts the response. expires_in is authoritative; the JWT's exp
// is the fallback, then Tesla's usual 8 h.
func (tr *tokenResponse) token(now time.Time) *Token {
	t := &Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, IDToken: tr.IDToken,
		TokenType: tr.TokenType, ObtainedAt: now}
	if t.TokenType == "" {
		t.TokenType = "Bearer"
	}
	c, _ := ParseClaims(tr.AccessToken)
	switch {
	case tr.ExpiresIn > 0:
		t.Expiry = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	case c != nil && !c.ExpiresAt.IsZero():
		t.Expiry = c.ExpiresAt
	default:
		t.Expiry = now.Add(8 * time.Hour)
	}
	if c != nil {
		t.Region = c.Region()
		t.BaseURL = BaseURLForRegion(t.Region)
	}
	return t
}
