package broker

import (
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// openBroker is the default mode: no users, anonymous clients on loopback,
// the bridge with its per-run secret, and the ACL.
func openBroker(t *testing.T) *Broker {
	t.Helper()
	return secureBroker(t, func(o *Options) { o.Users = nil })
}

// Regression (issue 19): in the anonymous loopback mode a client with the
// bridge's username and any password got the bridge's rights. The
// bridge's account now exists only with its own secret, in every mode.
func TestBridgeUsernameNeedsTheBridgeSecretInEveryMode(t *testing.T) {
	for name, b := range map[string]*Broker{"anonymous": openBroker(t), "users": secureBroker(t, nil)} {
		url := "tcp://" + b.Addr()
		for _, pass := range []string{"", "guess", bridgePass + "x", strings.ToUpper(bridgePass)} {
			if _, err := login(t, url, bridgeUser, pass, nil); err == nil {
				t.Errorf("%s: the bridge's username with password %q was accepted", name, pass)
			}
		}
		if _, err := login(t, url, bridgeUser, bridgePass, nil); err != nil {
			t.Errorf("%s: the bridge with its secret was refused: %v", name, err)
		}
	}
	// Anonymous clients still work in the default mode, and have no
	// bridge rights: the ACL drops one that writes the bridge's state.
	b := openBroker(t)
	url := "tcp://" + b.Addr()
	bridge, err := login(t, url, bridgeUser, bridgePass, nil)
	if err != nil {
		t.Fatal(err)
	}
	if publishArrivesAs(t, url, "", bridge, testBase+"/bridge/state") {
		t.Error("an anonymous client published the bridge's state")
	}
	if !publishArrivesAs(t, url, "", bridge, testBase+"/car/set/locked") {
		t.Error("an anonymous client could not send a command")
	}
}

// Regression (issue 19): any client that connected with the bridge's
// client id kicked the bridge off the broker (MQTT's session takeover).
// The newcomer is now refused and the bridge stays connected; the bridge
// itself may still take over its own session (a half-open connection).
func TestBridgeClientIDCannotBeTakenOver(t *testing.T) {
	const id = "tesla2mqtt"
	b := openBroker(t)
	url := "tcp://" + b.Addr()
	lost := make(chan error, 4)
	withID := func(o *paho.ClientOptions) {
		o.SetClientID(id).SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	}
	bridge, err := login(t, url, bridgeUser, bridgePass, withID)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct{ user, pass string }{{"", ""}, {"someone", "x"}, {bridgeUser, "guess"}} {
		_, err := login(t, url, who.user, who.pass, func(o *paho.ClientOptions) { o.SetClientID(id) })
		if err == nil {
			t.Fatalf("%q took the bridge's client id", who.user)
		}
		t.Logf("%q with the bridge's client id: %v", who.user, err)
	}
	// mochi closes a taken-over session before it acknowledges the
	// newcomer, so a kicked bridge could not get this publish through.
	if tok := bridge.Publish(testBase+"/bridge/state", 1, true, "online"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("the bridge lost its connection: %v", tok.Error())
	}
	select {
	case err := <-lost:
		t.Fatalf("the bridge was disconnected: %v", err)
	default:
	}

	// The bridge's own second login with the same id replaces the first.
	if _, err := login(t, url, bridgeUser, bridgePass, func(o *paho.ClientOptions) { o.SetClientID(id) }); err != nil {
		t.Fatalf("the bridge could not take over its own session: %v", err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge's old session was not replaced")
	}

	// Other clients keep MQTT's takeover semantics among themselves.
	if _, err := login(t, url, "", "", func(o *paho.ClientOptions) { o.SetClientID("ha") }); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, url, "", "", func(o *paho.ClientOptions) { o.SetClientID("ha") }); err != nil {
		t.Fatalf("a client could not take over another non-bridge client's id: %v", err)
	}
}

// publishArrivesAs is publishArrives for a client logged in as user.
func publishArrivesAs(t *testing.T, url, user string, sub paho.Client, topic string) bool {
	t.Helper()
	got := make(chan struct{}, 4)
	want := "from-" + user + "-" + time.Now().Format("150405.000000000")
	tok := sub.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		if string(m.Payload()) == want {
			got <- struct{}{}
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	defer func() { sub.Unsubscribe(topic).WaitTimeout(5 * time.Second) }()
	lost := make(chan struct{})
	c, err := login(t, url, user, "", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Publish(topic, 1, false, want)
	select {
	case <-got:
		return true
	case <-lost: // mochi drops an MQTT 3.1.1 client whose publish the ACL refuses
		return false
	case <-time.After(10 * time.Second):
		t.Fatalf("publish %s: neither delivered nor refused", topic)
		return false
	}
}
