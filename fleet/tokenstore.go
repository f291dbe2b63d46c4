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

	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
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
