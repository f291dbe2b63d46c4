package fleet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyGenerateModesAndNoOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	priv, pub, err := GenerateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if authMode(t, priv) != 0o600 || authMode(t, pub) != 0o644 || authMode(t, dir) != 0o700 {
		t.Errorf("modes: priv %04o pub %04o dir %04o", authMode(t, priv), authMode(t, pub), authMode(t, dir))
	}
	privPEM, _ := os.ReadFile(priv)
	pubPEM, _ := os.ReadFile(pub)
	if b, _ := pem.Decode(privPEM); b == nil || b.Type != "EC PRIVATE KEY" {
		t.Errorf("private key PEM type")
	}
	if b, _ := pem.Decode(pubPEM); b == nil || b.Type != "PUBLIC KEY" {
		t.Errorf("public key PEM type")
	}
	key, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !SamePublicKey(pubPEM, PublicKeyPEM(key)) {
		t.Error("public key file does not match the private key")
	}

	_, _, err = GenerateKey(dir)
	if !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second GenerateKey: %v, want ErrKeyExists", err)
	}
	if again, _ := os.ReadFile(priv); !bytes.Equal(again, privPEM) {
		t.Error("existing private key was overwritten")
	}
	authNoSecrets(t, err.Error(), string(privPEM))
}

func TestKeyLoadFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, block *pem.Block, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(block), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p256)
	got, err := LoadPrivateKey(write("pkcs8.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}, 0o600))
	if err != nil || !got.Equal(p256) {
		t.Fatalf("PKCS#8: %v", err)
	}

	sec1, _ := x509.MarshalECPrivateKey(p256)
	readable := write("readable.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}, 0o640)
	if _, err := LoadPrivateKey(readable); !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "chmod 600 "+readable) {
		t.Errorf("group-readable key: %v", err)
	}

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalECPrivateKey(p384)
	for name, block := range map[string]*pem.Block{
		"p384.pem":    {Type: "EC PRIVATE KEY", Bytes: der384},
		"wrongtype":   {Type: "RSA PRIVATE KEY", Bytes: sec1},
		"garbage.pem": {Type: "EC PRIVATE KEY", Bytes: []byte("not DER")},
	} {
		_, err := LoadPrivateKey(write(name, block, 0o600))
		if err == nil {
			t.Errorf("%s accepted", name)
			continue
		}
		authNoSecrets(t, err.Error(), string(pem.EncodeToMemory(block)))
	}
	if _, err := LoadPrivateKey(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestKeySamePublicKey(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pa := PublicKeyPEM(a)
	der, _ := x509.MarshalPKIXPublicKey(&a.PublicKey)
	crlf := bytes.ReplaceAll(pa, []byte("\n"), []byte("\r\n"))
	if !SamePublicKey(pa, der) || !SamePublicKey(pa, crlf) {
		t.Error("same key in other encodings not recognised")
	}
	if SamePublicKey(pa, PublicKeyPEM(b)) || SamePublicKey(pa, []byte("junk")) || SamePublicKey(nil, nil) {
		t.Error("different or junk keys reported equal")
	}
}

func TestKeyURLs(t *testing.T) {
	for _, d := range []string{"example.com", "https://example.com/", " example.com "} {
		if got := PublicKeyURL(d); got != "https://example.com/.well-known/appspecific/com.tesla.3p.public-key.pem" {
			t.Errorf("PublicKeyURL(%q) = %s", d, got)
		}
	}
	if got := PairingURL("example.com", ""); got != "https://tesla.com/_ak/example.com" {
		t.Errorf("PairingURL = %s", got)
	}
	if got := PairingURL("example.com", "5YJ3E1EA7KF000001"); got != "https://tesla.com/_ak/example.com?vin=5YJ3E1EA7KF000001" {
		t.Errorf("PairingURL with VIN = %s", got)
	}
}

// Regression: a DER key whose last byte happens to be a whitespace byte
// (about 1 key in 40) used to be cut short and reported as a different
// key, so `doctor` and `register` could claim a mismatch that was not one.
func TestKeySamePublicKeyDERWithWhitespaceLastByte(t *testing.T) {
	for range 10_000 {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if len(bytes.TrimSpace(der)) == len(der) {
			continue
		}
		if !SamePublicKey(PublicKeyPEM(k), der) {
			t.Fatalf("DER ending in %#x not recognised as the same key", der[len(der)-1])
		}
		return
	}
	t.Fatal("no key with a whitespace last byte in 10,000 tries")
}
