package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

const (
	mosqUser = "t2m"
	mosqPass = "s3cret-broker-pass"
)

// TestMosquittoInterop runs the bridge against Debian's mosquitto with a
// password file, over plain TCP and over TLS with a CA made here, and
// checks the set → result → state flow end to end.
func TestMosquittoInterop(t *testing.T) {
	mosq := peerNeedProgram(t, "mosquitto") // .ci/run puts /usr/sbin on PATH
	passwd := peerNeedProgram(t, "mosquitto_passwd")
	dir := t.TempDir()
	caPEM := peerWriteTestPKI(t, dir)
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-b", "-c", pwFile, mosqUser, mosqPass).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	plain, tls := peerFreeAddr(t), peerFreeAddr(t)
	_, plainPort, _ := net.SplitHostPort(plain)
	_, tlsPort, _ := net.SplitHostPort(tls)
	conf := filepath.Join(dir, "mosquitto.conf")
	peerWriteFile(t, conf, fmt.Sprintf(`user root
per_listener_settings false
allow_anonymous false
password_file %s
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
listener %s 127.0.0.1
listener %s 127.0.0.1
cafile %s
certfile %s
keyfile %s
`, pwFile, plainPort, tlsPort, caPEM, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")))
	broker := peerStartProc(t, nil, mosq, "-c", conf)
	broker.waitLine(t, regexp.MustCompile(`running`), 10*time.Second)

	for _, tc := range []struct {
		name, url string
		env       []string
	}{
		{"password", "tcp://127.0.0.1:" + plainPort, nil},
		// The bridge trusts the test CA the way a user's system would: via
		// the system roots, pointed here with SSL_CERT_FILE.
		{"tls", "ssl://localhost:" + tlsPort, []string{"SSL_CERT_FILE=" + caPEM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := "t2m" + tc.name
			cfg := filepath.Join(t.TempDir(), "config.toml")
			peerWriteFile(t, cfg, fmt.Sprintf(`[mqtt]
url = %q
username = %q
password = %q
base_topic = %q
client_id = "tesla2mqtt-%s"
`, tc.url, mosqUser, mosqPass, base, tc.name))
			w := peerWatch(t, "tcp://127.0.0.1:"+plainPort, mosqUser, mosqPass)
			demo := peerStartDemo(t, tc.env, "-c", cfg)
			state := base + "/" + model3
			w.wait(t, state, 30*time.Second, func(m map[string]any) bool { return m["charge_limit"] != nil })
			if err := w.c.Publish(state+"/set/charge_limit", []byte("67"), false); err != nil {
				t.Fatal(err)
			}
			res := w.wait(t, state+"/result", 30*time.Second, func(map[string]any) bool { return true })
			if res["status"] != "ok" || res["key"] != "charge_limit" {
				t.Fatalf("result = %v, want ok for charge_limit", res)
			}
			w.wait(t, state, 30*time.Second, func(m map[string]any) bool { return m["charge_limit"] == 67.0 })
			peerCheckLogs(t, demo.output())
		})
	}
	// A wrong password is refused by the broker, and the bridge says so.
	t.Run("wrong_password", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "config.toml")
		peerWriteFile(t, cfg, fmt.Sprintf("[mqtt]\nurl = %q\nusername = %q\npassword = \"wrong\"\n", "tcp://127.0.0.1:"+plainPort, mosqUser))
		p := peerStartProc(t, nil, peerBinary(t), "demo", "--http-addr", "off", "-c", cfg)
		line := p.waitLine(t, regexp.MustCompile(`(?i)not authori[sz]ed|bad user name or password`), 30*time.Second)
		if regexp.MustCompile(`wrong|` + mosqPass).MatchString(line[0]) {
			t.Errorf("the log shows a password: %s", line[0])
		}
	})
	// Without the CA the TLS handshake must fail: the TLS case above really
	// verified the broker's certificate.
	t.Run("tls_untrusted", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "config.toml")
		peerWriteFile(t, cfg, fmt.Sprintf("[mqtt]\nurl = %q\nusername = %q\npassword = %q\n", "ssl://localhost:"+tlsPort, mosqUser, mosqPass))
		p := peerStartProc(t, []string{"SSL_CERT_FILE=" + filepath.Join(dir, "passwd")}, peerBinary(t), "demo", "--http-addr", "off", "-c", cfg)
		p.waitLine(t, regexp.MustCompile(`certificate`), 30*time.Second)
	})
}

// writeTestPKI writes a CA and a server certificate for localhost and
// 127.0.0.1 into dir and returns the CA file.
func peerWriteTestPKI(t *testing.T, dir string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tesla2mqtt test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	caFile := filepath.Join(dir, "ca.pem")
	peerWriteFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	peerWriteFile(t, filepath.Join(dir, "server.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})))
	peerWriteFile(t, filepath.Join(dir, "server.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return caFile
}

func peerWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
