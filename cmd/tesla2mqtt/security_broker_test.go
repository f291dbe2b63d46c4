package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// secStack runs the bridge as `run` wires it, against fleetsim, with cfg's
// broker settings (edit may change them), and waits until its car is
// published on the broker at url (the embedded broker's when empty).
func secStack(t *testing.T, edit func(*config.Config)) (*stack, string) {
	t.Helper()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clk})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.Broker.Addr = "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})
	st, _, _, _ := e2eStack(t, &cfg, clk, srv.URL, wiring{tokens: tokens})
	url := cfg.MQTT.URL
	if url == "" {
		url = "tcp://" + st.BrokerAddr
	}
	return st, url
}

// secDial logs in with the project's client and returns it, or the error.
func secDial(t *testing.T, url, id, user, pass string) (*mqtt.Client, error) {
	t.Helper()
	c := mqtt.New(mqtt.Options{URL: url, ClientID: id, Username: user, Password: pass, Logger: zerolog.Nop()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, nil
}

// secRoundTrip sends a command through the broker and waits for its
// result: proof that the bridge is connected and subscribed.
func secRoundTrip(t *testing.T, w *relClient, txn string) {
	t.Helper()
	if err := w.c.Publish("tesla2mqtt/"+model3+"/set", []byte(`{"charge_limit":72,"transaction":"`+txn+`"}`), false); err != nil {
		t.Fatal(err)
	}
	w.waitJSON(t, "tesla2mqtt/"+model3+"/result", func(m map[string]any) bool { return m["transaction"] == txn && m["status"] == "ok" })
}

// Regression (issue 19), the embedded broker in its default anonymous
// loopback mode as `run` starts it: the bridge's username with a wrong
// password is refused, so nobody gets the bridge's rights (overwrite a
// car's state, its discovery, bridge/state); a client with the bridge's
// client id is refused instead of kicking the bridge off; an oversized
// publish ends its sender's connection.
func TestEmbeddedBrokerDefendsTheBridgeIdentity(t *testing.T) {
	st, url := secStack(t, nil)
	w := newRelClient(t, url, "sec-observer", "tesla2mqtt/bridge/state", "tesla2mqtt/"+model3, "tesla2mqtt/"+model3+"/result")
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["locked"] == true })
	if st.clientID != "tesla2mqtt" {
		t.Fatalf("the bridge's client id on the embedded broker is %q, want the configured one", st.clientID)
	}

	for _, user := range []string{"", config.BrokerBridgeUser()} {
		_, err := secDial(t, url, st.clientID, user, "x")
		if err == nil || !strings.Contains(err.Error(), "identifier rejected") {
			t.Fatalf("a client (user %q) with the bridge's client id: %v, want identifier rejected", user, err)
		}
	}
	// Each refused login counts twice here (paho retries MQTT 3.1.1 as
	// 3.1), and the fifth failure throttles the address: two guesses.
	for _, pass := range []string{"", "guess"} {
		_, err := secDial(t, url, "sec-impostor", config.BrokerBridgeUser(), pass)
		if err == nil || !strings.Contains(err.Error(), "not Authorized") {
			t.Fatalf("the bridge's username with password %q: %v, want not authorized", pass, err)
		}
	}
	secRoundTrip(t, w, "after-takeover-attempts")
	if n := st.mqtt.Reconnects(); n != 0 || !st.mqtt.IsConnected() {
		t.Fatalf("the bridge was knocked off the broker (%d reconnects, connected %v)", n, st.mqtt.IsConnected())
	}
	if got := string(w.get("tesla2mqtt/bridge/state")); got != "online" {
		t.Fatalf("bridge/state = %q", got)
	}

	// 300 KiB is more than the default max_packet_size of 256 KiB.
	lost := make(chan struct{})
	big := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("sec-big").SetAutoReconnect(false).
		SetConnectionLostHandler(func(paho.Client, error) { close(lost) }))
	if tok := big.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	big.Publish("other/big", 1, true, strings.Repeat("x", 300<<10))
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("a client that sent a 300 KiB packet stayed connected")
	}
	secRoundTrip(t, w, "after-big-publish")
}

// Regression (issue 19) on Mosquitto: MQTT gives a client id in use to the
// newcomer and disconnects the holder, and Mosquitto does. With the
// default client_id_suffix a user who knows client_id cannot kick the
// bridge off; with client_id_suffix = false (the control) the same login
// does, and the two fight over the id.
func TestMosquittoClientIDTakeover(t *testing.T) {
	url := secMosquitto(t)
	edit := func(suffix bool) func(*config.Config) {
		return func(c *config.Config) {
			c.MQTT.URL, c.MQTT.Username, c.MQTT.Password, c.MQTT.ClientIDSuffix = url, mosqUser, mosqPass, suffix
		}
	}
	t.Run("suffix", func(t *testing.T) {
		st, _ := secStack(t, edit(true))
		if !regexp.MustCompile(`^tesla2mqtt-[0-9a-f]{8}$`).MatchString(st.clientID) {
			t.Fatalf("client id %q, want tesla2mqtt-<8 hex digits>", st.clientID)
		}
		w := newRelClientAuth(t, url, "sec-watch-suffix")
		if _, err := secDial(t, url, "tesla2mqtt", mosqUser, mosqPass); err != nil {
			t.Fatal(err)
		}
		// A kicked bridge could not get an acknowledged publish through.
		if err := st.mqtt.Publish("tesla2mqtt/bridge/probe", []byte("x"), false); err != nil {
			t.Fatalf("the bridge lost its connection to a client using client_id: %v", err)
		}
		secRoundTrip(t, w, "suffix")
		if n := st.mqtt.Reconnects(); n != 0 {
			t.Fatalf("the bridge reconnected %d times", n)
		}
	})
	t.Run("exact_control", func(t *testing.T) {
		st, _ := secStack(t, edit(false))
		if st.clientID != "tesla2mqtt" {
			t.Fatalf("client id %q with client_id_suffix = false", st.clientID)
		}
		kicked := make(chan struct{})
		o := paho.NewClientOptions().AddBroker(url).SetClientID("tesla2mqtt").SetUsername(mosqUser).SetPassword(mosqPass).
			SetAutoReconnect(false).SetConnectionLostHandler(func(paho.Client, error) { close(kicked) })
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(0) })
		// The bridge, kicked off, reconnects with its id and kicks this one.
		select {
		case <-kicked:
		case <-time.After(30 * time.Second):
			t.Fatal("the exact client id was taken over and never taken back: the control shows no takeover")
		}
	})
}

// newRelClientAuth is newRelClient with the Mosquitto test user.
func newRelClientAuth(t *testing.T, url, id string) *relClient {
	t.Helper()
	return dialAs(t, url, id, mosqUser, mosqPass, "tesla2mqtt/"+model3+"/result")
}

// secMosquitto starts Mosquitto on a free loopback port with the test
// user and returns its URL. It skips without Mosquitto, except under CI.
func secMosquitto(t *testing.T) string {
	t.Helper()
	mosq := peerNeedProgram(t, "mosquitto")
	passwd := peerNeedProgram(t, "mosquitto_passwd")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-b", "-c", pwFile, mosqUser, mosqPass).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	addr := peerFreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	peerWriteFile(t, conf, fmt.Sprintf("user root\nallow_anonymous false\npassword_file %s\npersistence false\n"+
		"log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nlistener %s 127.0.0.1\n", pwFile, port))
	p := peerStartProc(t, nil, mosq, "-c", conf)
	p.waitLine(t, regexp.MustCompile(`running`), 10*time.Second)
	return "tcp://" + addr
}
