package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Tesla's OAuth endpoints (FLEET_API.md §1.1). Tokens are minted by
// fleet-auth since Tesla's 2025-07-21 announcement; the browser step still
// uses auth.tesla.com, as the working integrations do.
const (
	DefaultAuthorizeURL = "https://auth.tesla.com/oauth2/v3/authorize"
	DefaultTokenURL     = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"
)

// ErrStateMismatch: the redirect URL does not belong to this login attempt
// (stale tab, or a forged redirect).
var ErrStateMismatch = errors.New("state mismatch: the redirect URL does not belong to this login attempt; start the login again")

// AuthConfig describes the app registered on developer.tesla.com.
type AuthConfig struct {
	ClientID     string
	ClientSecret string // secret: never logged, never in an error
	RedirectURI  string // must equal one registered for the app
	// Scopes requested at login (default DefaultScopes()).
	Scopes []string
	// AuthorizeURL defaults to DefaultAuthorizeURL.
	AuthorizeURL string
	// TokenURL defaults to DefaultTokenURL.
	TokenURL string
	// Audience is the Fleet API host the token is for. Empty: derived from
	// the region prefix of the authorization code ("NA_…", "EU_…").
	Audience string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
}

func (c *AuthConfig) authorizeURL() string { return orDefault(c.AuthorizeURL, DefaultAuthorizeURL) }
func (c *AuthConfig) tokenURL() string     { return orDefault(c.TokenURL, DefaultTokenURL) }

func (c *AuthConfig) scopes() []string {
	if len(c.Scopes) == 0 {
		return DefaultScopes()
	}
	return c.Scopes
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AuthRequest is one login attempt: the random state that ties the redirect
// to it and the PKCE verifier. Keep it in memory until the redirect comes
// back; Verifier is a secret.
type AuthRequest struct {
	cfg AuthConfig
	// State is the anti-CSRF value echoed by Tesla in the redirect.
	State string
	// Verifier is the PKCE code_verifier (secret until the exchange).
	Verifier string
	// Challenge is base64url(sha256(Verifier)), sent in the authorize URL.
	Challenge string
}

// NewAuthRequest starts a login attempt. PKCE is sent in addition to the
// client secret: Tesla documents it only for secret-less apps, but it is
// standard OAuth and stops a leaked authorization code from being redeemed
// by anyone else.
func NewAuthRequest(cfg AuthConfig) (*AuthRequest, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("auth: client id is required")
	}
	if cfg.RedirectURI == "" {
		return nil, errors.New("auth: redirect URI is required")
	}
	verifier := randomString(32) // 43 characters, the RFC 7636 minimum
	sum := sha256.Sum256([]byte(verifier))
	return &AuthRequest{
		cfg:       cfg,
		State:     randomString(24),
		Verifier:  verifier,
		Challenge: base64.RawURLEncoding.EncodeToString(sum[:]),
	}, nil
}

// randomString returns n random bytes as unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// URL is the address the user opens in a browser.
//
// prompt_missing_scopes=true re-asks for scopes the user has not granted yet.
// prompt=login (which HA sends) is left out on purpose: a user already
// signed in to Tesla in that browser should not have to type the password
// and MFA code again just to re-authorise the bridge.
func (r *AuthRequest) URL() string {
	u, err := url.Parse(r.cfg.authorizeURL())
	if err != nil {
		u = &url.URL{Scheme: "https", Host: "auth.tesla.com", Path: "/oauth2/v3/authorize"}
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", r.cfg.ClientID)
	q.Set("redirect_uri", r.cfg.RedirectURI)
	q.Set("scope", strings.Join(r.cfg.scopes(), " "))
	q.Set("state", r.State)
	q.Set("code_challenge", r.Challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("prompt_missing_scopes", "true")
	q.Set("locale", "en-US")
	u.RawQuery = q.Encode()
	return u.String()
}

// CodeFromRedirect extracts the authorization code from the URL the browser
// was sent back to (a full URL or just its query). It checks the state and
// reports Tesla's error parameters as an *OAuthError. The code never
// appears in an error.
func (r *AuthRequest) CodeFromRedirect(rawURL string) (string, error) {
	raw := strings.TrimSpace(rawURL)
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[i+1:]
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	// ParseQuery's error quotes the input, which holds the code: not wrapped.
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", errors.New("auth: the redirect URL's query cannot be parsed")
	}
	state := q.Get("state")
	if state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(r.State)) != 1 {
		return "", ErrStateMismatch
	}
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("auth: Tesla refused the authorisation: %w",
			&OAuthError{Code: e, Description: q.Get("error_description")})
	}
	if state == "" {
		return "", errors.New("auth: the redirect URL has no state parameter; paste the whole URL")
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("auth: the redirect URL has no code parameter; paste the whole URL")
	}
	return code, nil
}

// Exchange redeems an authorization code for a token. now stamps ObtainedAt
// and turns expires_in into Expiry. A token without a refresh token (the
// user withheld offline_access) is returned as is: the caller warns with
// MissingScopes.
func Exchange(ctx context.Context, cfg AuthConfig, req *AuthRequest, code string, now time.Time) (*Token, error) {
	if req == nil || code == "" {
		return nil, errors.New("auth: exchange needs the login request and a code")
	}
	audience := cfg.Audience
	if audience == "" {
		audience = audienceFromCode(code)
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {cfg.ClientID},
		"code":          {code},
		"code_verifier": {req.Verifier},
		"redirect_uri":  {cfg.RedirectURI},
		"audience":      {audience},
	}
	if cfg.ClientSecret != "" {
		form.Set("client_secret", cfg.ClientSecret)
	}
	tr, err := postToken(ctx, cfg.HTTPClient, cfg.tokenURL(), form)
	if err != nil {
		return nil, fmt.Errorf("auth: exchange code: %w", err)
	}
	t := tr.token(now)
	if t.Region == "" {
		// A token whose claims say nothing: fall back on the code's prefix.
		t.Region, t.BaseURL = regionOfCode(code), audience
	}
	return t, nil
}

// PartnerToken gets a partner (client_credentials) access token for
// audience (default cfg.Audience, then the NA host), used by the partner
// endpoints such as registering the app's domain in a region. It asks for
// cfg.Scopes minus openid and offline_access, which only mean something
// for a user.
func PartnerToken(ctx context.Context, cfg AuthConfig, audience string) (string, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return "", errors.New("auth: a partner token needs the client id and the client secret")
	}
	audience = orDefault(orDefault(audience, cfg.Audience), BaseURLNA)
	var scopes []string
	for _, s := range cfg.scopes() {
		if s != ScopeOpenID && s != ScopeOfflineAccess {
			scopes = append(scopes, s)
		}
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {cfg.ClientID},
		"client_secret": {cfg.ClientSecret},
		"audience":      {audience},
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	tr, err := postToken(ctx, cfg.HTTPClient, cfg.tokenURL(), form)
	if err != nil {
		return "", fmt.Errorf("auth: partner token: %w", err)
	}
	return tr.AccessToken, nil
}

// regionOfCode reads the region prefix of an authorization code ("NA_…").
func regionOfCode(code string) string {
	prefix, _, ok := strings.Cut(code, "_")
	if !ok || BaseURLForRegion(prefix) == "" {
		return ""
	}
	return strings.ToLower(prefix)
}

// audienceFromCode picks the Fleet API host for a code, NA when unknown
// (NA also serves Asia-Pacific).
func audienceFromCode(code string) string {
	return orDefault(BaseURLForRegion(regionOfCode(code)), BaseURLNA)
}

// postToken POSTs form to the token endpoint. Errors carry no form value:
// the form travels in the body, never the URL, and Tesla's error text is
// scrubbed of the secrets we sent in case it echoes one.
func postToken(ctx context.Context, client *http.Client, tokenURL string, form url.Values) (*tokenResponse, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if _, ok := ctx.Deadline(); !ok && client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSecretFile))
	if err != nil {
		return nil, fmt.Errorf("token response: HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		oe := &OAuthError{Status: resp.StatusCode}
		var eb struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &eb) == nil {
			oe.Code, oe.Description = eb.Error, eb.Description
		}
		secrets := []string{form.Get("client_secret"), form.Get("code"), form.Get("code_verifier"), form.Get("refresh_token")}
		oe.Code, oe.Description = scrub(oe.Code, secrets), scrub(oe.Description, secrets)
		return nil, oe
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return nil, errors.New("token response: HTTP 200 without an access token")
	}
	return &tr, nil
}

// scrub replaces every secret in s (and its URL-encoded form) with "***".
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
			s = strings.ReplaceAll(s, url.QueryEscape(sec), "***")
		}
	}
	return s
}
