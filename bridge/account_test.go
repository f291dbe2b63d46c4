package bridge

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// fakeAccount is a mutable AccountStatus.
type fakeAccount struct {
	mu sync.Mutex
	st contract.AccountState
}

func (a *fakeAccount) AccountState() contract.AccountState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	st.GrantedScopes = append([]string(nil), a.st.GrantedScopes...)
	return st
}

func (a *fakeAccount) granted() []string { return a.AccountState().GrantedScopes }

func (a *fakeAccount) update(fn func(*contract.AccountState)) {
	a.mu.Lock()
	fn(&a.st)
	a.mu.Unlock()
}

var noLocation = []string{"openid", "offline_access", "user_data", "vehicle_device_data", "vehicle_cmds",
	"vehicle_charging_cmds", "energy_device_data", "energy_cmds"}

func newAccountBridge(t *testing.T) (*Bridge, *fakePub, *fakeAccount) {
	t.Helper()
	acct := &fakeAccount{st: contract.AccountState{Region: "eu", GrantedScopes: noLocation, WantedScopes: fleet.DefaultScopes(),
		TokenExpiry: time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC), LoginCommand: "tesla2mqtt login -c config.toml",
		ConsentURL: fleet.ConsentURL("app", "")}}
	b, _, pub, _ := newTestBridge(t, func(o *Options) {
		o.Account = acct
		o.GrantedScopes = acct.granted
	})
	return b, pub, acct
}

func (p *fakePub) retainedWith(prefix, contains string) []string {
	var out []string
	for _, topic := range p.RetainedTopics() {
		if strings.HasPrefix(topic, prefix) && strings.Contains(topic, contains) {
			out = append(out, topic)
		}
	}
	return out
}

func TestAccountInfoNamesMissingScopesAndWhatTheyDisable(t *testing.T) {
	_, pub, _ := newAccountBridge(t)
	info := pub.state(t, "t2m/bridge/info")
	acct, ok := info["account"].(map[string]any)
	if !ok {
		t.Fatalf("bridge/info has no account: %v", info)
	}
	missing := acct["missing_scopes"].([]any)
	if len(missing) != 1 || acct["login_needed"] != false || acct["region"] != "eu" ||
		acct["token_expiry"] != "2026-11-29T20:00:00Z" {
		t.Fatalf("account = %v", acct)
	}
	m := missing[0].(map[string]any)
	if m["scope"] != "vehicle_location" || !strings.Contains(m["disables"].(string), "location") {
		t.Errorf("missing = %v", m)
	}
	status := pub.state(t, "t2m/bridge/status")
	if status["missing_scope_count"] != 1.0 || !strings.Contains(status["consent_url"].(string), "revoke_client_id=app") {
		t.Errorf("bridge/status = %v", status)
	}
	// The bridge device offers the three diagnostics.
	for _, topic := range []string{
		"homeassistant/binary_sensor/tesla2mqtt_bridge_login_required/config",
		"homeassistant/sensor/tesla2mqtt_bridge_missing_scopes/config",
		"homeassistant/sensor/tesla2mqtt_bridge_token_expiry/config",
	} {
		c := pub.state(t, topic)
		dev := c["device"].(map[string]any)
		if dev["name"] != "tesla2mqtt bridge" || c["state_topic"] != "t2m/bridge/status" || c["entity_category"] != "diagnostic" {
			t.Errorf("%s = %v", topic, c)
		}
	}
	if c := pub.state(t, "homeassistant/binary_sensor/tesla2mqtt_bridge_login_required/config"); c["device_class"] != "problem" {
		t.Errorf("login sensor device_class = %v", c["device_class"])
	}
	// No location entity is offered without the scope.
	if got := pub.retainedWith("homeassistant/device_tracker/", testVIN); len(got) != 0 {
		t.Errorf("device tracker offered without vehicle_location: %v", got)
	}
}

func TestLoginRequiredEventAndRecovery(t *testing.T) {
	b, pub, acct := newAccountBridge(t)
	acct.update(func(s *contract.AccountState) { s.LoginRequired, s.LoginError = true, "Tesla login required" })
	b.PublishAccountEvent(contract.AccountEvent{Type: contract.EventLoginRequired, Message: "Tesla login required",
		LoginCommand: "tesla2mqtt login -c config.toml"})
	ev, ok := pub.Last("t2m/bridge/event")
	if !ok || ev.Retained {
		t.Fatalf("event published = %v, retained = %v", ok, ev.Retained)
	}
	var e map[string]any
	if err := json.Unmarshal(ev.Payload, &e); err != nil || e["type"] != "login_required" || e["at"] == "" {
		t.Fatalf("event = %s", ev.Payload)
	}
	status := pub.state(t, "t2m/bridge/status")
	if status["login_needed"] != true || status["login_command"] != "tesla2mqtt login -c config.toml" {
		t.Fatalf("status = %v", status)
	}
	// The cars keep their last state.
	if car := pub.state(t, "t2m/"+testVIN); car["battery_level"] == nil {
		t.Errorf("car state lost: %v", car)
	}
	acct.update(func(s *contract.AccountState) { s.LoginRequired, s.LoginError = false, "" })
	b.PublishAccountEvent(contract.AccountEvent{Type: contract.EventTokenRefreshed, Source: "login"})
	if status := pub.state(t, "t2m/bridge/status"); status["login_needed"] != false {
		t.Fatalf("after login: %v", status)
	}
}

func TestScopesChangedReoffersEntities(t *testing.T) {
	b, pub, acct := newAccountBridge(t)
	acct.update(func(s *contract.AccountState) { s.GrantedScopes = fleet.DefaultScopes() })
	b.PublishAccountEvent(contract.AccountEvent{Type: contract.EventScopesChanged, Added: []string{"vehicle_location"}})
	if got := pub.retainedWith("homeassistant/device_tracker/", testVIN); len(got) != 1 {
		t.Fatalf("device tracker after the scope was granted: %v", got)
	}
	if status := pub.state(t, "t2m/bridge/status"); status["missing_scope_count"] != 0.0 {
		t.Errorf("status = %v", status)
	}
	acct.update(func(s *contract.AccountState) { s.GrantedScopes = noLocation })
	b.PublishAccountEvent(contract.AccountEvent{Type: contract.EventScopesChanged, Removed: []string{"vehicle_location"}})
	if got := pub.retainedWith("homeassistant/device_tracker/", testVIN); len(got) != 0 {
		t.Fatalf("device tracker still offered after the scope was withdrawn: %v", got)
	}
}

func TestNoAccountNoBridgeDevice(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	if got := pub.retainedWith("homeassistant/", "tesla2mqtt_bridge_"); len(got) != 0 {
		t.Errorf("bridge device published without an account: %v", got)
	}
	if info := pub.state(t, "t2m/bridge/info"); info["account"] != nil {
		t.Errorf("info.account = %v", info["account"])
	}
}
