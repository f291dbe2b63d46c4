package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// The state directory is 0700 and the token 0600 after a login; `run`
// refuses a token or private key that others can read, with the chmod that
// fixes it, before it touches the network.
func TestSecretFilesModesAndRefusal(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := sigkillConfig(filepath.Join(dir, "state"), srv.URL)
	if _, err := loginHeadless(t.Context(), loginParams{cfg: cfg, configPath: "test", out: io.Discard, now: time.Now}); err != nil {
		t.Fatal(err)
	}
	store := fleet.NewFileTokenStore(cfg.StateDir)
	for path, want := range map[string]os.FileMode{cfg.StateDir: 0o700, store.Path(): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", path, fi.Mode().Perm(), err, want)
		}
	}

	cfgPath := filepath.Join(dir, "config.toml")
	writeCfg := func(extra string) {
		text := "state_dir = \"" + cfg.StateDir + "\"\n[tesla]\nclient_id = \"" + fleetsim.ClientID + "\"\napi_base_url = \"" + srv.URL +
			"\"\nauth_base_url = \"" + srv.URL + "\"\n" + extra + "[mqtt]\nurl = \"tcp://127.0.0.1:1\"\n[http]\naddr = \"\"\n"
		if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runOnce := func() (int, string) {
		var stderr strings.Builder
		code := run([]string{"run", "-c", cfgPath}, io.Discard, &stderr)
		return code, stderr.String()
	}

	writeCfg("")
	if err := os.Chmod(store.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, msg := runOnce()
	if code == 0 || !strings.Contains(msg, "chmod 600 "+store.Path()) {
		t.Fatalf("world-readable token: exit %d, message %q; want a refusal naming chmod 600", code, msg)
	}
	if err := os.Chmod(store.Path(), 0o600); err != nil {
		t.Fatal(err)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	keyPath := filepath.Join(dir, "private.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	writeCfg("private_key_file = \"" + keyPath + "\"\n")
	code, msg = runOnce()
	if code == 0 || !strings.Contains(msg, "chmod 600 "+keyPath) {
		t.Fatalf("world-readable private key: exit %d, message %q; want a refusal naming chmod 600", code, msg)
	}
	t.Logf("refusal: %s", strings.TrimSpace(msg))
}
