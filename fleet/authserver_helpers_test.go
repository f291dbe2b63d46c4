package fleet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// newAuthClock is the auth tests' clock, moved by hand.
func newAuthClock() *clock.Manual {
	return clocktest.Manual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// authLineage is one login's chain of refresh tokens on the fake server.
type authLineage struct {
	head     string    // newest refresh token, never used yet
	lastUsed string    // most recently used one, honoured for 24 h
	usedAt   time.Time // first use of lastUsed
	dead     bool      // password reset / revoked
}

// authServer plays Tesla's token endpoint for grant_type=refresh_token with
// rotation, the 24 h grace of the last used token, and login_required for
// anything else (FLEET_API.md §1.3).
type authServer struct {
	t     *testing.T
	clock *clock.Manual
	srv   *httptest.Server

	mu       sync.Mutex
	seq      int
	lineages map[string]*authLineage // by any refresh token ever issued
	forms    []url.Values
	issued   []string // every token string handed out, for leak checks
	fail     int      // answer this many requests with 500
	// life is the lifetime of the access tokens it issues (0: Tesla's 8 h).
	life time.Duration
}

func newAuthServer(t *testing.T, clock *clock.Manual) *authServer {
	s := &authServer{t: t, clock: clock, lineages: map[string]*authLineage{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *authServer) URL() string { return s.srv.URL + "/oauth2/v3/token" }

// login starts a lineage and returns its first token, as `login` would store it.
func (s *authServer) login() *Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &authLineage{}
	tr := s.issueLocked(l)
	return tr.token(s.clock.Now())
}

// kill ends the lineage of rt, as a password reset does.
func (s *authServer) kill(rt string) {
	s.mu.Lock()
	s.lineages[rt].dead = true
	s.mu.Unlock()
}

func (s *authServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.forms)
}

func (s *authServer) form(i int) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forms[i]
}

func (s *authServer) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

func (s *authServer) issueLocked(l *authLineage) *tokenResponse {
	s.seq++
	now := s.clock.Now()
	life := s.life
	if life == 0 {
		life = 8 * time.Hour
	}
	rt := fmt.Sprintf("EU_refresh-%03d-f00d", s.seq)
	at := authJWT(s.t, map[string]any{
		"iss": "https://auth.tesla.com/oauth2/v3/nts", "azp": "client-1", "sub": "user-1",
		"aud": []string{BaseURLNA, BaseURLEU}, "scp": []string{"openid", "offline_access", "vehicle_device_data"},
		"ou_code": "EU", "iat": now.Unix(), "exp": now.Add(life).Unix(), "n": s.seq,
	})
	id := fmt.Sprintf("idtoken-%03d", s.seq)
	l.head = rt
	s.lineages[rt] = l
	s.issued = append(s.issued, rt, at, id)
	return &tokenResponse{AccessToken: at, RefreshToken: rt, IDToken: id, TokenType: "Bearer", ExpiresIn: int64(life / time.Second)}
}

func (s *authServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.forms = append(s.forms, r.PostForm)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if s.fail > 0 {
		s.fail--
		reply(http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("client_id") != "client-1" {
		reply(http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	rt, now := r.PostForm.Get("refresh_token"), s.clock.Now()
	l := s.lineages[rt]
	valid := l != nil && !l.dead && (rt == l.head || (rt == l.lastUsed && now.Sub(l.usedAt) < 24*time.Hour))
	if !valid {
		// Echo the token, as a careless server might: the client must scrub it.
		reply(http.StatusUnauthorized, map[string]string{"error": "login_required",
			"error_description": "refresh token " + rt + " is invalid or expired"})
		return
	}
	if rt == l.head {
		l.lastUsed, l.usedAt = rt, now
	}
	reply(http.StatusOK, s.issueLocked(l))
}

// authNoSecrets fails if any secret occurs in text.
func authNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(text, sec) {
			t.Errorf("secret %.12q… leaked into %q", sec, text)
		}
	}
}

// authMemStore is an in-memory TokenStore whose Save can be made to fail.
type authMemStore struct {
	mu       sync.Mutex
	tok      *Token
	saves    int
	failNext int
}

func (m *authMemStore) Load() (*Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return nil, ErrNoToken
	}
	cp := *m.tok
	return &cp, nil
}

func (m *authMemStore) Save(t *Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failNext > 0 {
		m.failNext--
		return fmt.Errorf("no space left on device")
	}
	cp := *t
	m.tok, m.saves = &cp, m.saves+1
	return nil
}

func (m *authMemStore) current() *Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return nil
	}
	cp := *m.tok
	return &cp
}
