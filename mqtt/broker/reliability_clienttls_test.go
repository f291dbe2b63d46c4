package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// The bridge's client against a TLS broker: CA file, username and password
// on the embedded broker's TLS listener; and a client certificate through a
// TLS front that requires one (the embedded broker does not ask for client
// certificates, external brokers such as Mosquitto can).
func TestClientTLSToBroker(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestCerts(t, dir)
	b := secureBroker(t, func(o *Options) { o.TLSAddr = "127.0.0.1:0"; o.TLSCertFile, o.TLSKeyFile = cert, key })

	connect := func(url string, o mqtt.Options) error {
		o.URL, o.ConnectTimeout = url, 3*time.Second
		c := mqtt.New(o)
		defer c.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.Connect(ctx)
	}
	url := "ssl://" + b.TLSAddr()
	if err := connect(url, mqtt.Options{CAFile: ca, Username: "ha", Password: "ha-pass"}); err != nil {
		t.Fatalf("TLS with CA file, username and password: %v", err)
	}
	if err := connect(url, mqtt.Options{Username: "ha", Password: "ha-pass"}); err == nil {
		t.Fatal("TLS without the CA file trusted a private CA")
	}
	if err := connect(url, mqtt.Options{CAFile: ca, Username: "ha", Password: "nope"}); err == nil {
		t.Fatal("wrong password accepted over TLS")
	}
	if err := connect(url, mqtt.Options{InsecureSkipVerify: true, Username: "ha", Password: "ha-pass"}); err != nil {
		t.Fatalf("insecure_skip_verify: %v", err)
	}
	err := connect(url, mqtt.Options{CAFile: dir + "/missing.pem"})
	if err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Fatalf("missing CA file: %v", err)
	}

	front := clientCertFront(t, ca, cert, key, b.Addr())
	if err := connect("ssl://"+front, mqtt.Options{CAFile: ca, CertFile: cert, KeyFile: key, Username: "ha", Password: "ha-pass"}); err != nil {
		t.Fatalf("TLS with a client certificate: %v", err)
	}
	if err := connect("ssl://"+front, mqtt.Options{CAFile: ca, Username: "ha", Password: "ha-pass"}); err == nil {
		t.Fatal("a front that requires a client certificate accepted a client without one")
	}
}

// clientCertFront terminates TLS, requiring a client certificate signed by
// caFile, and forwards the plain stream to the broker at target.
func clientCertFront(t *testing.T, caFile, certFile, keyFile, target string) string {
	t.Helper()
	pemData, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}
