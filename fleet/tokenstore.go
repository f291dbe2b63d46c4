package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// ErrNoToken: no token has been stored yet; the user must log in.
var ErrNoToken = errors.New("no Tesla token stored: run tesla2mqtt login")

// ErrCorruptToken: the token file exists but holds no token (truncated,
// edited by hand, not JSON). Only a new login helps, so it also matches
// ErrLoginRequired: the bridge runs on, reports login_required with this
// reason, and waits for the login.
var ErrCorruptToken = errors.New("token file is corrupt")

// corruptTokenError names the corrupt file. Its text quotes nothing of the
// file's content, which may hold a token.
type corruptTokenError struct{ path string }

// Error names the file and the remedy.
func (e *corruptTokenError) Error() string {
	return fmt.Sprintf("token file %s is corrupt: log in again (tesla2mqtt login, or the status page)", e.path)
}

// Is matches ErrCorruptToken and ErrLoginRequired.
func (e *corruptTokenError) Is(target error) bool {
	return target == ErrCorruptToken || target == ErrLoginRequired
}

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

var _ TokenStore = (*FileTokenStore)(nil)

// FileTokenStore keeps the token in <dir>/token.json, mode 0600, in a
// directory of mode 0700. Saves are atomic: a crash or a failed write at
// any point leaves either the previous file or the new one, never a torn
// file, because losing a rotated refresh token means logging in again.
type FileTokenStore struct {
	dir string
	mu  sync.Mutex
	// writeHook, when set, runs before each step of Save and may fail it.
	// Tests use it to inject a fault at every step.
	writeHook func(step string) error
}

// Save steps, in order, as passed to writeHook.
const (
	stepMkdir   = "mkdir"
	stepCreate  = "create"
	stepWrite   = "write"
	stepSync    = "sync"
	stepClose   = "close"
	stepRename  = "rename"
	stepSyncDir = "syncdir"
)

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
		return nil, &corruptTokenError{path: path}
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

// Save writes t atomically: a private temp file in the same directory is
// written, fsynced and renamed over token.json, then the directory is
// fsynced so the rename itself survives a power cut.
func (s *FileTokenStore) Save(t *Token) (err error) {
	if t == nil {
		return errors.New("save token: nil token")
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("save token: encode: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	step := func(name string, fn func() error) error {
		if s.writeHook != nil {
			if err := s.writeHook(name); err != nil {
				return fmt.Errorf("save token: %s: %w", name, err)
			}
		}
		if err := fn(); err != nil {
			return fmt.Errorf("save token: %s: %w", name, err)
		}
		return nil
	}

	if err := step(stepMkdir, s.mkdir); err != nil {
		return err
	}
	s.removeStaleTemps()
	var f *os.File
	if err := step(stepCreate, func() (err error) {
		// CreateTemp opens with 0600; the Chmod is a belt against odd umasks/filesystems.
		if f, err = os.CreateTemp(s.dir, tempPrefix+"*"+tempSuffix); err != nil {
			return err
		}
		return f.Chmod(0o600)
	}); err != nil {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
		return err
	}
	tmp, closed, renamed := f.Name(), false, false
	defer func() {
		// Whatever failed before the rename, the old token.json is untouched;
		// only the temp file needs cleaning up.
		if !closed {
			f.Close()
		}
		if !renamed {
			os.Remove(tmp)
		}
	}()
	if err := step(stepWrite, func() error { _, err := f.Write(data); return err }); err != nil {
		return err
	}
	if err := step(stepSync, f.Sync); err != nil {
		return err
	}
	if err := step(stepClose, func() error { closed = true; return f.Close() }); err != nil {
		return err
	}
	if err := step(stepRename, func() error { return os.Rename(tmp, s.Path()) }); err != nil {
		return err
	}
	renamed = true
	return step(stepSyncDir, s.syncDir)
}

// Temp files of Save are named tempPrefix*tempSuffix. One older than
// staleTempAge is the leftover of a save that a crash or power cut
// interrupted; a younger one may belong to a save running right now in
// another process (`login` while the bridge runs), so it is left alone.
const (
	tempPrefix   = ".token-"
	tempSuffix   = ".tmp"
	staleTempAge = time.Minute
)

// removeStaleTemps deletes the leftovers of interrupted saves, which would
// otherwise pile up in the state directory, each holding a refresh token.
// Only regular files of our own pattern are touched; failures are ignored,
// since a leftover costs disk space, not correctness. Callers hold s.mu.
func (s *FileTokenStore) removeStaleTemps() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	// File times are the kernel's wall clock, so this compares with the
	// wall clock, not an injected one.
	now := clock.Real().Now()
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) >= staleTempAge {
			_ = os.Remove(filepath.Join(s.dir, name))
		}
	}
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

// syncDir fsyncs the directory so the rename is durable. Filesystems that
// cannot fsync a directory (EINVAL) and Windows are tolerated: the rename is
// still atomic there, only its durability is up to the OS.
func (s *FileTokenStore) syncDir() error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
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
