package fleet

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
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

// ErrLoginRequired: Tesla refused the refresh token or code (401
// login_required, 400 invalid_grant): it expired, was cycled out, or the
// user changed their password. Only a new login helps.
var ErrLoginRequired = errors.New("Tesla login required: run tesla2mqtt login")

// OAuthError is an error answer of Tesla's token or authorize endpoint.
// errors.Is(err, ErrLoginRequired) holds for login_required and invalid_grant.
type OAuthError struct {
	Status      int    // HTTP status; 0 for an error in a redirect URL
	Code        string // the "error" field, e.g. "login_required"
	Description string // the "error_description" field
}

// Error implements error; request secrets are scrubbed before they get here.
func (e *OAuthError) Error() string {
	msg := "oauth error"
	if e.Status != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Is matches ErrLoginRequired for the codes that mean the grant is dead.
func (e *OAuthError) Is(target error) bool {
	return target == ErrLoginRequired && (e.Code == "login_required" || e.Code == "invalid_grant")
}

var _ error = (*OAuthError)(nil)

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

func (c *AuthConfig) authorizeURL() string {
	// An unparsable override would make a broken link; Tesla's works.
	if u, err := url.Parse(c.AuthorizeURL); err != nil || u.Scheme == "" || u.Host == "" {
		return DefaultAuthorizeURL
	}
	return c.AuthorizeURL
}

func (c *AuthConfig) tokenURL() string { return orDefault(c.TokenURL, DefaultTokenURL) }

func (c *AuthConfig) scopes() []string {
	if len(c.Scopes) == 0 {
		return DefaultScopes()
	}
	return c.Scopes
}

// oauth2 maps the app onto golang.org/x/oauth2, which builds the URLs and
// forms and parses the answers. Tesla takes the client id and secret as
// form fields; the style is fixed because x/oauth2's probing would send a
// refused request first, secret included, in a Basic header.
func (c *AuthConfig) oauth2() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  c.RedirectURI,
		Scopes:       c.scopes(),
		Endpoint: oauth2.Endpoint{AuthURL: c.authorizeURL(), TokenURL: c.tokenURL(),
			AuthStyle: oauth2.AuthStyleInParams},
	}
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
	verifier := oauth2.GenerateVerifier() // 32 random bytes: 43 characters, RFC 7636's minimum
	return &AuthRequest{
		cfg:       cfg,
		State:     rand.Text(),
		Verifier:  verifier,
		Challenge: oauth2.S256ChallengeFromVerifier(verifier),
	}, nil
}

// URL is the address the user opens in a browser.
//
// prompt_missing_scopes=true, a Tesla extension, re-asks for scopes the
// user has not granted yet. prompt=login (which HA sends) is left out on
// purpose: a user already signed in to Tesla in that browser should not
// have to type the password and MFA code again just to re-authorise the
// bridge.
func (r *AuthRequest) URL() string {
	return r.cfg.oauth2().AuthCodeURL(r.State, oauth2.S256ChallengeOption(r.Verifier),
		oauth2.SetAuthURLParam("prompt_missing_scopes", "true"),
		oauth2.SetAuthURLParam("locale", "en-US"))
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
	// Tesla wants the Fleet API host the token is for; x/oauth2 knows no
	// audience, so it goes in as an extra form field.
	audience := cfg.Audience
	if audience == "" {
		audience = audienceFromCode(code)
	}
	ctx, cancel := tokenContext(ctx, cfg.HTTPClient)
	defer cancel()
	ot, err := cfg.oauth2().Exchange(ctx, code, oauth2.VerifierOption(req.Verifier),
		oauth2.SetAuthURLParam("audience", audience))
	if err != nil {
		return nil, fmt.Errorf("auth: exchange code: %w", tokenError(err, cfg.ClientSecret, code, req.Verifier))
	}
	t := tokenFromOAuth2(ot, now)
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
	cc := clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL: cfg.tokenURL(), Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{"audience": {audience}}}
	ctx, cancel := tokenContext(ctx, cfg.HTTPClient)
	defer cancel()
	ot, err := cc.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("auth: partner token: %w", tokenError(err, cfg.ClientSecret))
	}
	return ot.AccessToken, nil
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

// tokenTimeout bounds a token request when neither the HTTP client nor the
// context does.
const tokenTimeout = 30 * time.Second

// tokenContext hands x/oauth2 our HTTP client (it reads it from the
// context) and bounds the request when nothing else does.
func tokenContext(ctx context.Context, hc *http.Client) (context.Context, context.CancelFunc) {
	if hc == nil {
		hc = &http.Client{Timeout: tokenTimeout}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	if _, ok := ctx.Deadline(); !ok && hc.Timeout == 0 {
		return context.WithTimeout(ctx, tokenTimeout)
	}
	return ctx, func() {}
}

// tokenError turns an x/oauth2 failure into ours. Tesla's error answer
// becomes an *OAuthError (so login_required matches ErrLoginRequired);
// x/oauth2's own text is not used for it, because it quotes the whole
// response body, which a careless server may fill with what we sent. Every
// secret we sent is scrubbed from whatever text remains.
func tokenError(err error, secrets ...string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, desc := re.ErrorCode, re.ErrorDescription
		if code == "" {
			// x/oauth2 reads the body by its Content-Type; an error in JSON
			// labelled text/plain would lose login_required, and with it
			// the "log in again" the user needs.
			var eb struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &eb) == nil {
				code, desc = eb.Error, eb.Description
			}
		}
		oe := &OAuthError{Code: scrub(code, secrets), Description: scrub(desc, secrets)}
		if re.Response != nil {
			oe.Status = re.Response.StatusCode
		}
		return oe
	}
	return &scrubbedError{msg: "token request: " + scrub(err.Error(), secrets), err: err}
}

// scrubbedError is a failure whose text had our secrets removed; Unwrap
// keeps errors.Is working (context.DeadlineExceeded, net errors).
type scrubbedError struct {
	msg string
	err error
}

// Error is the scrubbed text.
func (e *scrubbedError) Error() string { return e.msg }

// Unwrap gives the original error to errors.Is and errors.As.
func (e *scrubbedError) Unwrap() error { return e.err }

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
