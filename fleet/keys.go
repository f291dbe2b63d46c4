package fleet

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
)

// Key file names inside the key directory.
const (
	PrivateKeyFile = "private-key.pem"
	PublicKeyFile  = "public-key.pem"
)

// ErrKeyExists: GenerateKey found a private key already there. Replacing it
// would unpair every car, so it is never overwritten.
var ErrKeyExists = errors.New("a private key already exists; refusing to overwrite it (every car would need re-pairing)")

// GenerateKey creates the app's P-256 key pair in dir (created 0700): the
// private key as SEC1 "EC PRIVATE KEY" PEM, mode 0600, and the public key as
// PKIX "PUBLIC KEY" PEM, mode 0644, the form Tesla fetches from the
// .well-known URL (FLEET_API.md §2.3).
func GenerateKey(dir string) (privPath, pubPath string, err error) {
	privPath, pubPath = filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, PublicKeyFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	// WriteNew makes "never overwrite" atomic, even against a concurrent
	// run, and a crash cannot leave half a key behind.
	if err := atomicfile.WriteNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", "", fmt.Errorf("%w: %s", ErrKeyExists, privPath)
		}
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	// The public key is derived, so a stale copy is replaced.
	if err := atomicfile.Write(pubPath, PublicKeyPEM(priv), 0o644); err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	return privPath, pubPath, nil
}

// LoadPrivateKey reads a P-256 private key in SEC1 ("EC PRIVATE KEY") or
// PKCS#8 ("PRIVATE KEY") PEM. Like the token file, it refuses a file other
// users can read. Errors never contain key material.
func LoadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	defer f.Close()
	if err := checkPrivate(f, path); err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("load private key: %s is not a PEM file", path)
	}
	var key any
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("load private key: %s holds a %q block, want EC PRIVATE KEY or PRIVATE KEY", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("load private key %s: %w", path, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("load private key: %s is not a P-256 (prime256v1) EC key, which Tesla requires", path)
	}
	return ec, nil
}

// PublicKeyPEM returns the PKIX "PUBLIC KEY" PEM of priv's public key, the
// file to host at PublicKeyURL.
func PublicKeyPEM(priv *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil // only for curves x509 cannot encode; P-256 always works
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PublicKeyURL is where Tesla fetches the app's public key for domain (a
// bare host; a scheme or trailing slash is tolerated).
func PublicKeyURL(domain string) string {
	return "https://" + bareDomain(domain) + "/.well-known/appspecific/com.tesla.3p.public-key.pem"
}

// PairingURL is the deep link that opens the Tesla app to add the bridge's
// key to a car; vin (optional) preselects the car (FLEET_API.md §2.4).
func PairingURL(domain, vin string) string {
	u := "https://tesla.com/_ak/" + bareDomain(domain)
	if vin != "" {
		u += "?vin=" + url.QueryEscape(vin)
	}
	return u
}

func bareDomain(domain string) string {
	d := strings.TrimSpace(domain)
	d = strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://")
	return strings.TrimRight(d, "/")
}

// SamePublicKey reports whether a and b hold the same EC public key, each
// given as PEM or DER (PKIX). It compares keys, not bytes, so line endings
// and PEM headers do not matter; unparsable input is never "the same".
func SamePublicKey(a, b []byte) bool {
	ka, errA := parsePublicKey(a)
	kb, errB := parsePublicKey(b)
	return errA == nil && errB == nil && ka.Equal(kb)
}

func parsePublicKey(data []byte) (*ecdh.PublicKey, error) {
	// Raw DER is taken as it is: its last byte may be one TrimSpace
	// would cut (0x20, 0x0a, ...), about one random key in forty.
	der := data
	if block, _ := pem.Decode(bytes.TrimSpace(data)); block != nil {
		der = block.Bytes
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("not an EC public key")
	}
	return ec.ECDH()
}
