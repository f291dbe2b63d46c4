package fleetsim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The Tesla side of onboarding (FLEET_API.md §1–2): an authorize endpoint
// that consents at once, the token endpoint (code exchange with PKCE,
// rotating refresh tokens with the 24 h grace, client_credentials), the
// partner endpoints, fleet_status, and the app's .well-known public key.

// Lifetimes of the simulated grants, as Tesla documents them.
const (
	codeTTL         = 10 * time.Minute
	refreshTTL      = 90 * 24 * time.Hour
	refreshGrace    = 24 * time.Hour
	accessTTL       = 8 * time.Hour
	partnerSubject  = "partner"
	wellKnownKeyURL = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
)

// authState is the simulator's OAuth and partner state, a field of the Sim
// guarded by Sim.mu like everything else.
type authState struct {
	granted   []string // nil: every requested scope is granted
	codes     map[string]*authCode
	refresh   map[string]*lineage // by every refresh token ever issued
	byJTI     map[string]*lineage // by the jti of every access token issued with a refresh token
	lineages  []*lineage
	appKey    []byte          // PEM of the app's public key (the domain the sim plays)
	domains   map[string]bool // registered partner domains
	paired    map[string]bool // VIN → our key is paired
	exchanged int             // successful code exchanges
	refreshes int             // successful refreshes
}

type authCode struct {
	clientID, redirectURI, challenge string
	scopes                           []string
	expires                          time.Time
}

// lineage is one login's chain of refresh tokens.
type lineage struct {
	scopes   []string // requested at login
	head     string   // newest refresh token, never used
	headAt   time.Time
	lastUsed string // most recently used one, valid refreshGrace after use
	usedAt   time.Time
	dead     bool
	// headJTI is the access token issued with head; received is set once
	// the client calls the API with it, proof that it got the rotation
	// (StrictRefresh ends lastUsed then).
	headJTI  string
	received bool
}

// auth returns the Sim's auth state, creating it. Callers hold s.mu.
func (s *Sim) auth() *authState {
	if s.authState != nil {
		return s.authState
	}
	s.authState = &authState{
		codes:   map[string]*authCode{},
		refresh: map[string]*lineage{},
		byJTI:   map[string]*lineage{},
		domains: map[string]bool{},
		// "Red Three" accepts REST commands and has our key; "Blue Y"
		// needs signed commands and has not been paired yet.
		paired: map[string]bool{"5YJ3E1EA7PF000001": true},
	}
	return s.authState
}

// SetGrantedScopes makes the consent screen grant only these scopes (of
// those requested); nil grants everything requested. It also applies to
// later refreshes, as a user's scope change does on Tesla.
func (s *Sim) SetGrantedScopes(scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if scopes == nil {
		s.auth().granted = nil
		return
	}
	s.auth().granted = append([]string{}, scopes...)
}

// SetAppPublicKey makes the simulator play the app's domain: it serves pem
// at /.well-known/appspecific/com.tesla.3p.public-key.pem and accepts
// partner registrations with it. pem must be a P-256 public key (PEM).
func (s *Sim) SetAppPublicKey(pem []byte) error {
	if fleet.PublicKeyHex(pem) == "" {
		return errors.New("fleetsim: the app key is not a P-256 public key in PEM")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth().appKey = append([]byte(nil), pem...)
	return nil
}

// SetKeyPaired sets whether the app's key is paired with a car, as the
// user's approval in the Tesla app would.
func (s *Sim) SetKeyPaired(vin string, paired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth().paired[vin] = paired
}

// RevokeTokens kills every refresh token lineage, as a password change does:
// the access tokens they issued answer 401 at once, however long they had
// left, and the next refresh answers 401 login_required. Tokens from
// MintToken belong to no lineage and stay valid.
func (s *Sim) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.auth().lineages {
		l.dead = true
	}
}

// RegisteredDomains returns the domains registered with partner_accounts.
func (s *Sim) RegisteredDomains() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for d := range s.auth().domains {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// AuthStats reports successful code exchanges and refreshes, so tests can
// check that concurrent callers caused one refresh.
func (s *Sim) AuthStats() (exchanges, refreshes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.auth()
	return a.exchanged, a.refreshes
}

func randomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// oauthError is the token endpoint's error body (not the Fleet envelope).
func oauthError(status int, code, desc string) response {
	return response{Status: status, Body: map[string]any{"error": code, "error_description": desc}}
}

// handleAuthorize consents at once: 302 to redirect_uri with a code and the
// state, or with error=… for a malformed request.
func handleAuthorize(s *Sim, r *request) response {
	q := r.HTTP.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || redirect.Host == "" {
		return apiError(http.StatusBadRequest, "invalid redirect_uri")
	}
	back := func(params url.Values) response {
		rq := redirect.Query()
		for k, v := range params {
			rq[k] = v
		}
		if st := q.Get("state"); st != "" {
			rq.Set("state", st)
		}
		u := *redirect
		u.RawQuery = rq.Encode()
		return response{Status: http.StatusFound, Raw: []byte{}}.with("Location", u.String())
	}
	if q.Get("response_type") != "code" || q.Get("client_id") == "" {
		return back(url.Values{"error": {"invalid_request"}})
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		return back(url.Values{"error": {"invalid_request"}, "error_description": {"only S256 is supported"}})
	}
	a := s.auth()
	code := strings.ToUpper(s.opts.Region) + "_" + randomToken("")
	a.codes[code] = &authCode{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), scopes: strings.Fields(q.Get("scope")), expires: r.Now.Add(codeTTL)}
	return back(url.Values{"code": {code}})
}

// handleToken is POST /oauth2/v3/token for the three grants the bridge uses.
func handleToken(s *Sim, r *request) response {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "the body is not form-encoded")
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		return s.exchangeCode(form, r.Now)
	case "refresh_token":
		return s.refreshToken(form, r.Now)
	case "client_credentials":
		if form.Get("client_id") == "" || form.Get("client_secret") == "" {
			return oauthError(http.StatusUnauthorized, "invalid_client", "client_id and client_secret are required")
		}
		claims := tokenClaims{Iss: s.opts.Issuer, Sub: partnerSubject, Azp: form.Get("client_id"),
			Aud: []string{form.Get("audience")}, Scp: strings.Fields(form.Get("scope")),
			Iat: r.Now.Unix(), Exp: r.Now.Add(accessTTL).Unix(), Jti: randomToken("")}
		return tokenBody(encodeClaims(&claims), "", accessTTL)
	}
	return oauthError(http.StatusBadRequest, "unsupported_grant_type", "")
}

func (s *Sim) exchangeCode(form url.Values, now time.Time) response {
	a := s.auth()
	code := form.Get("code")
	c := a.codes[code]
	delete(a.codes, code) // single use, whatever happens next
	switch {
	case c == nil || now.After(c.expires):
		return oauthError(http.StatusBadRequest, "invalid_grant", "invalid_auth_code")
	case form.Get("client_id") != c.clientID || form.Get("redirect_uri") != c.redirectURI:
		return oauthError(http.StatusBadRequest, "invalid_grant", "client_id or redirect_uri differ from the authorize request")
	case c.challenge != "" && !pkceMatches(form.Get("code_verifier"), c.challenge):
		return oauthError(http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	case c.challenge == "" && form.Get("client_secret") == "":
		return oauthError(http.StatusUnauthorized, "invalid_client", "client_secret is required without PKCE")
	}
	a.exchanged++
	l := &lineage{scopes: c.scopes}
	a.lineages = append(a.lineages, l)
	return s.issueLocked(l, now)
}

func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// refreshToken rotates: the head token yields a new head; the one used last
// stays valid for 24 h after its use; anything else is login_required.
// StrictRefresh has no time grace: the one used last stays valid only until
// the client calls the API with the access token of the new head, so a
// client that uses a rotation before it has saved it, then dies, has lost
// its login.
func (s *Sim) refreshToken(form url.Values, now time.Time) response {
	a := s.auth()
	tok := form.Get("refresh_token")
	l := a.refresh[tok]
	dead := oauthError(http.StatusUnauthorized, "login_required", "The refresh token is expired or revoked")
	switch {
	case l == nil || l.dead:
		return dead
	case tok == l.head && now.Sub(l.headAt) < refreshTTL:
		l.lastUsed, l.usedAt = tok, now
	case tok == l.lastUsed && !s.opts.StrictRefresh && now.Sub(l.usedAt) < refreshGrace:
		// The grace: the client lost the answer of its last refresh.
	case tok == l.lastUsed && s.opts.StrictRefresh && !l.received:
		// Strict: the answer never reached the client (it has not used
		// the new access token), so it may try again with what it has.
	default:
		return dead
	}
	a.refreshes++
	return s.issueLocked(l, now)
}

// issueLocked mints an access token with the lineage's currently granted
// scopes and a new head refresh token.
func (s *Sim) issueLocked(l *lineage, now time.Time) response {
	a := s.auth()
	scopes := l.scopes
	if a.granted != nil {
		scopes = nil
		for _, sc := range l.scopes {
			if slices.Contains(a.granted, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	l.head, l.headAt = randomToken(strings.ToUpper(s.opts.Region)+"_"), now
	a.refresh[l.head] = l
	refresh := l.head
	if !slices.Contains(scopes, fleet.ScopeOfflineAccess) {
		refresh = ""
	}
	ttl := accessTTL
	if s.opts.AccessTokenTTL > 0 {
		ttl = s.opts.AccessTokenTTL
	}
	access := s.MintToken(scopes, ttl)
	if c, ok := parseToken(access); ok {
		l.headJTI, l.received = c.Jti, false
		a.byJTI[c.Jti] = l
	}
	return tokenBody(access, refresh, ttl)
}

func tokenBody(access, refresh string, ttl time.Duration) response {
	body := map[string]any{"access_token": access, "token_type": "Bearer",
		"expires_in": int64(ttl / time.Second), "id_token": randomToken("id.")}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	return response{Status: http.StatusOK, Body: body}
}

func encodeClaims(c *tokenClaims) string {
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	payload, _ := json.Marshal(c)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "."
}

// handleAppKey serves the app's public key as the app's domain would.
func handleAppKey(s *Sim, _ *request) response {
	key := s.auth().appKey
	if key == nil {
		return response{Status: http.StatusNotFound, Raw: []byte("no app key: start fleetsim with --app-key FILE\n")}
	}
	return response{Status: http.StatusOK, Raw: key}
}

// partnerOnly refuses user tokens on partner endpoints, as Tesla does.
func partnerOnly(r *request) (response, bool) {
	if r.Token.Sub != partnerSubject {
		return apiError(http.StatusUnauthorized, "This endpoint requires a partner authentication token"), false
	}
	return response{}, true
}

// handlePartnerRegister fetches the domain's key (the sim plays the
// domain) and records the registration.
func handlePartnerRegister(s *Sim, r *request) response {
	if resp, good := partnerOnly(r); !good {
		return resp
	}
	var body struct {
		Domain string `json:"domain"`
	}
	if json.Unmarshal(r.Body, &body) != nil || body.Domain == "" {
		return apiError(http.StatusBadRequest, "domain is required")
	}
	a := s.auth()
	if a.appKey == nil {
		return apiError(http.StatusBadRequest, "Public key download failed for url "+fleet.PublicKeyURL(body.Domain))
	}
	a.domains[strings.ToLower(body.Domain)] = true
	return ok(map[string]any{"client_id": r.Token.Azp, "domain": body.Domain,
		"public_key": fleet.PublicKeyHex(a.appKey)})
}

func handlePartnerPublicKey(s *Sim, r *request) response {
	if resp, good := partnerOnly(r); !good {
		return resp
	}
	domain := strings.ToLower(r.HTTP.URL.Query().Get("domain"))
	a := s.auth()
	if !a.domains[domain] {
		return apiError(http.StatusNotFound, "This account does not have access to "+domain)
	}
	return ok(map[string]any{"public_key": fleet.PublicKeyHex(a.appKey)})
}

// handleFleetStatus reports pairing and signing per VIN; unknown VINs are
// left out, as Tesla does for cars of another account.
func handleFleetStatus(s *Sim, r *request) response {
	var body struct {
		VINs []string `json:"vins"`
	}
	if json.Unmarshal(r.Body, &body) != nil {
		return apiError(http.StatusBadRequest, "invalid_field")
	}
	a := s.auth()
	paired, unpaired := []string{}, []string{}
	info := map[string]any{}
	for _, vin := range body.VINs {
		v := s.vehicleByTag(vin)
		if v == nil {
			continue
		}
		if a.paired[v.snap.VIN] {
			paired = append(paired, v.snap.VIN)
		} else {
			unpaired = append(unpaired, v.snap.VIN)
		}
		info[v.snap.VIN] = map[string]any{
			"vehicle_command_protocol_required": v.snap.CommandSigning == "required",
			"firmware_version":                  "2025.20.6",
			"total_number_of_keys":              3,
		}
	}
	return ok(map[string]any{"key_paired_vins": paired, "unpaired_vins": unpaired, "vehicle_info": info})
}

// tokenUsed notes an API call made with an access token: for a lineage's
// newest one, proof that the client received the rotation. Callers hold s.mu.
func (s *Sim) tokenUsed(c *tokenClaims) {
	if l := s.auth().byJTI[c.Jti]; l != nil && l.headJTI == c.Jti {
		l.received = true
	}
}
