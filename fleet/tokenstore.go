package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// ErrNoToken: no token has been stored yet; the user must log in.
var ErrNoToken = errors.New("no Tesla token stored: run tesla2mqtt login")

// ErrInsecureFile: a secret file (token, private key) can be read by other
// users. The error text carries the chmod that fixes it.
var ErrInsecureFile = errors.New("secret file is readable by other users")

// TokenFileName is the name of the token file inside the state directory.
const TokenFileName = "token.json"

// maxSecretFile bounds what Load reads; a token file is a few KiB.
const maxSecretFile = 1 << 20

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

// TokenStore persists the current token. fleet takes the interface so that
// tests use memory stores; the bridge uses FileTokenStore.
type TokenStore interface {
	// Load returns the stored token or an error wrapping ErrNoToken.
	Load() (*Token, error)
	// Save stores t durably; when it returns nil the token survives a crash.
	Save(t *Token) error
}

// FileTokenStore keeps the token in <dir>/token.json, mode 0600, in a
// directory of mode 0700. Saves are atomic (internal/atomicfile): a crash
// or a failed write at any point leaves either the previous file or the new
// one, never a torn file, because losing a rotated refresh token means
// logging in again.
type FileTokenStore struct {
	dir string
	mu  sync.Mutex
	// writeHook, when set, runs before each step of Save and may fail it.
	// Tests use it to inject a fault at every step.
	writeHook func(step atomicfile.Step) error
}

// NewFileTokenStore returns a store for <dir>/token.json. Nothing is touched
// until Load or Save.
func NewFileTokenStore(dir string) *FileTokenStore { return &FileTokenStore{dir: dir} }

// Path returns the token file's path.
func (s *FileTokenStore) Path() string { return filepath.Join(s.dir, TokenFileName) }

// Load reads the token. It refuses a file other users can read, because the
// refresh token in it is a three-month credential to the user's cars.
func (s *FileTokenStore) Load() (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeStaleTemps()
	path := s.Path()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s not found)", ErrNoToken, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	defer f.Close()
	if err := checkPrivate(f, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile))
	if err != nil {
		return nil, fmt.Errorf("read token %s: %w", path, err)
	}
	var t Token
	// json's error text can quote file content, so it is not wrapped.
	if err := json.Unmarshal(data, &t); err != nil || (t.AccessToken == "" && t.RefreshToken == "") {
		return nil, fmt.Errorf("token file %s is corrupt: run tesla2mqtt login", path)
	}
	return &t, nil
}

// checkPrivate refuses a file whose mode grants any group or other access.
// Windows has no such mode bits.
func checkPrivate(f *os.File, path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrInsecureFile, path, perm, path)
	}
	return nil
}

// Save writes t atomically and durably: when it returns nil, the token
// survives a crash or a power cut.
func (s *FileTokenStore) Save(t *Token) error {
	if t == nil {
		return errors.New("save token: nil token")
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("save token: encode: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writeHook != nil {
		if err := s.writeHook(atomicfile.StepMkdir); err != nil {
			return fmt.Errorf("save token: %s: %w", atomicfile.StepMkdir, err)
		}
	}
	if err := s.mkdir(); err != nil {
		return fmt.Errorf("save token: %s: %w", atomicfile.StepMkdir, err)
	}
	w := atomicfile.Writer{Perm: 0o600, Fault: s.writeHook}
	if err := w.Write(s.Path(), data); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// removeStaleTemps deletes the leftovers of interrupted saves, which would
// otherwise pile up in the state directory, each holding a refresh token.
// Save does it too; Load does it so a bridge that never refreshes still
// cleans up. Callers hold s.mu.
func (s *FileTokenStore) removeStaleTemps() {
	// File times are the kernel's wall clock, so this compares with the
	// wall clock, not an injected one.
	atomicfile.RemoveStale(s.Path(), clock.Real().Now())
}

// mkdir creates the state directory 0700 and narrows an existing wider one:
// it holds the token and the session cache.
func (s *FileTokenStore) mkdir() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(s.dir)
	if err != nil {
		return err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		return os.Chmod(s.dir, 0o700)
	}
	return nil
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
		TokenType: orDefault(tr.TokenType, "Bearer"), ObtainedAt: now}
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
