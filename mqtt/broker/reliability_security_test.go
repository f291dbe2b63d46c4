package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"
)

const (
	testBase   = "tesla2mqtt"
	testPrefix = "homeassistant"
	bridgeUser = "bridge"
	bridgePass = "per-run-secret"
)

// secureBroker starts a broker with one user (ha / ha-pass) and the ACL.
func secureBroker(t *testing.T, edit func(*Options)) *Broker {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("ha-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Addr: "127.0.0.1:0", Users: []User{{Username: "ha", PasswordHash: string(hash)}},
		Bridge: Credentials{Username: bridgeUser, Password: bridgePass},
		ACL:    ACL{BaseTopic: testBase, DiscoveryPrefix: testPrefix, Protected: []string{"teslamate"}}}
	if edit != nil {
		edit(&o)
	}
	b := New(o)
	if err := b.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// login connects with credentials and returns the client and the connect error.
func login(t *testing.T, url, user, pass string, edit func(*paho.ClientOptions)) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(user + "-" + rand.Text()[:6]).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if edit != nil {
		edit(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func TestBrokerRefusesNetworkAddressWithoutUsers(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0"} {
		err := New(Options{Addr: addr}).Start()
		if !errors.Is(err, ErrNoUsers) {
			t.Fatalf("Start(%s) without users = %v, want ErrNoUsers", addr, err)
		}
	}
	err := New(Options{Addr: "127.0.0.1:0", TLSAddr: ":0", TLSCertFile: "x", TLSKeyFile: "y"}).Start()
	if err == nil {
		t.Fatal("a TLS listener on all interfaces without users started")
	}
	// With a user, all interfaces are fine.
	secureBroker(t, func(o *Options) { o.Addr = ":0" })
	for addr, want := range map[string]bool{"127.0.0.1:1883": true, "[::1]:1883": true, "localhost:1883": true,
		":1883": false, "0.0.0.0:1883": false, "192.0.2.1:1883": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%s) = %v", addr, !want)
		}
	}
}

func TestBrokerAuthentication(t *testing.T) {
	b := secureBroker(t, nil)
	url := "tcp://" + b.Addr()
	if _, err := login(t, url, "ha", "ha-pass", nil); err != nil {
		t.Fatalf("valid user refused: %v", err)
	}
	if _, err := login(t, url, bridgeUser, bridgePass, nil); err != nil {
		t.Fatalf("bridge refused: %v", err)
	}
	// A user's last will on the bridge's state would forge "offline".
	_, err := login(t, url, "ha", "ha-pass", func(o *paho.ClientOptions) {
		o.SetWill(testBase+"/bridge/state", "offline", 1, true)
	})
	if err == nil {
		t.Error("a user with a last will on tesla2mqtt/bridge/state was accepted")
	}
	if _, err := login(t, url, "ha", "ha-pass", func(o *paho.ClientOptions) { o.SetWill(testPrefix+"/status", "offline", 1, true) }); err != nil {
		t.Errorf("Home Assistant's own last will refused: %v", err)
	}
	// Five failures: the login throttle's burst, so every one is judged
	// on its password (security_throttle_test.go covers the sixth).
	for _, c := range []struct{ user, pass string }{{"ha", "wrong"}, {"", ""}, {"nobody", "ha-pass"}, {bridgeUser, ""}, {bridgeUser, "ha-pass"}} {
		if _, err := login(t, url, c.user, c.pass, nil); err == nil {
			t.Errorf("login %q/%q accepted", c.user, c.pass)
		}
	}
}

func TestBrokerACL(t *testing.T) {
	b := secureBroker(t, nil)
	url := "tcp://" + b.Addr()
	bridge, err := login(t, url, bridgeUser, bridgePass, nil)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{testBase + "/car/set", testBase + "/car/set/charge_limit", testBase + "/car/get",
		testBase + "/bridge/request/refresh", testPrefix + "/status", "other/app/topic"}
	denied := []string{testBase + "/car", testBase + "/car/availability", testBase + "/car/result",
		testBase + "/bridge/state", testBase + "/bridge/info", testBase + "/bridge/event", testBase + "/bridge/request",
		testPrefix + "/sensor/x/y/config", testBase, "teslamate/cars/1/battery_level", testBase + "/car/set/a/b"}
	for _, topic := range allowed {
		if !publishArrives(t, url, bridge, topic) {
			t.Errorf("user could not publish %s", topic)
		}
	}
	for _, topic := range denied {
		if publishArrives(t, url, bridge, topic) {
			t.Errorf("user published %s, which only the bridge may", topic)
		}
		if !bridgePublishes(t, bridge, topic) {
			t.Errorf("bridge could not publish %s", topic)
		}
	}
}

// publishArrives publishes topic as user "ha" and reports whether a
// subscriber (the bridge's connection) received it.
func publishArrives(t *testing.T, url string, sub paho.Client, topic string) bool {
	t.Helper()
	got := make(chan string, 4)
	tok := sub.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		if !m.Retained() {
			got <- string(m.Payload())
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	defer func() { sub.Unsubscribe(topic).WaitTimeout(5 * time.Second) }()
	lost := make(chan struct{})
	user, err := login(t, url, "ha", "ha-pass", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "from-user-" + rand.Text()[:6]
	user.Publish(topic, 1, false, want)
	// Allowed: the message arrives. Denied: mochi drops the MQTT 3.1.1
	// client before it publishes anything, so losing the connection is the
	// broker's answer.
	for {
		select {
		case p := <-got:
			if p == want {
				return true
			}
		case <-lost:
			return false
		case <-time.After(10 * time.Second):
			t.Fatalf("publish %s: neither delivered nor refused", topic)
		}
	}
}

// bridgePublishes checks the bridge itself may publish topic.
func bridgePublishes(t *testing.T, c paho.Client, topic string) bool {
	t.Helper()
	tok := c.Publish(topic, 1, false, "x")
	return tok.WaitTimeout(5*time.Second) && tok.Error() == nil && c.IsConnectionOpen()
}

func TestBrokerTLSListener(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestCerts(t, dir)
	b := secureBroker(t, func(o *Options) { o.TLSAddr = "127.0.0.1:0"; o.TLSCertFile, o.TLSKeyFile = cert, key })
	if b.TLSAddr() == "" {
		t.Fatal("no TLS listener")
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(ca)
	pool.AppendCertsFromPEM(pem)
	url := "ssl://" + b.TLSAddr()
	if _, err := login(t, url, "ha", "ha-pass", func(o *paho.ClientOptions) {
		o.SetTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	}); err != nil {
		t.Fatalf("TLS login: %v", err)
	}
	if _, err := login(t, url, "ha", "ha-pass", func(o *paho.ClientOptions) {
		o.SetTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()})
	}); err == nil {
		t.Fatal("TLS login with an unknown CA succeeded")
	}
	if _, err := login(t, url, "ha", "wrong", func(o *paho.ClientOptions) {
		o.SetTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	}); err == nil {
		t.Fatal("TLS login with a wrong password succeeded")
	}
	bad := New(Options{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLSCertFile: filepath.Join(dir, "missing.pem"), TLSKeyFile: key})
	if err := bad.Start(); err == nil {
		_ = bad.Close()
		t.Fatal("started with a missing certificate")
	}
}

// writeTestCerts writes a CA and a server certificate for 127.0.0.1 signed
// by it; it returns the paths of the CA, the certificate and its key.
func writeTestCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "PRIVATE KEY", keyDER)
}
