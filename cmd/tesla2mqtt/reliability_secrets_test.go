package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// relSecrets records every secret the OAuth flow hands out: codes, access
// and refresh tokens, as they pass between fleetsim and the bridge.
type relSecrets struct {
	mu  sync.Mutex
	all []string
	h   http.Handler
}

func (s *relSecrets) add(v string) {
	if len(v) >= 8 {
		s.mu.Lock()
		s.all = append(s.all, v)
		s.mu.Unlock()
	}
}

func (s *relSecrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth2/v3/token" {
		s.h.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if form, err := url.ParseQuery(string(body)); err == nil {
		for _, k := range []string{"code", "refresh_token", "client_secret", "code_verifier"} {
			s.add(form.Get(k))
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	var tok map[string]any
	if json.Unmarshal(rec.Body.Bytes(), &tok) == nil {
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, ok := tok[k].(string); ok {
				s.add(v)
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// A full run (login, token refresh, polling, a command, a refresh request,
// HA's birth, shutdown) at debug level: no log line and no MQTT message
// holds a secret: client secret, MQTT password, OAuth code, access, refresh
// or id token.
func TestNoSecretInLogsOrMQTT(t *testing.T) {
	const clientSecret, mqttPassword = "client-secret-7f3a9c", "mqtt-password-b81d2e"
	sim := fleetsim.New(fleetsim.Options{})
	sec := &relSecrets{h: sim}
	srv := httptest.NewServer(sec)
	t.Cleanup(srv.Close)

	hash, _ := bcrypt.GenerateFromPassword([]byte(mqttPassword), bcrypt.MinCost)
	brk := broker.New(broker.Options{Addr: "127.0.0.1:0", Users: []broker.User{{Username: "bridge", PasswordHash: string(hash)},
		{Username: "watch", PasswordHash: string(hash)}}, Logger: zerolog.Nop()})
	if err := brk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = brk.Close() })
	murl := "tcp://" + brk.Addr()

	// Subscribed before the bridge publishes anything.
	var msgs relLog
	watch := mqtt.New(mqtt.Options{URL: murl, ClientID: "rel-secrets", Username: "watch", Password: mqttPassword, Logger: zerolog.Nop()})
	if err := watch.Subscribe("#", func(m mqtt.Message) { _, _ = msgs.Write([]byte(m.Topic + " " + string(m.Payload) + "\n")) }); err != nil {
		t.Fatal(err)
	}
	if err := watch.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Close(context.Background()) })

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	cfgText := `state_dir = "` + filepath.Join(dir, "state") + `"
[tesla]
client_id = "` + fleetsim.ClientID + `"
client_secret = "` + clientSecret + `"
api_base_url = "` + srv.URL + `"
auth_base_url = "` + srv.URL + `"
redirect_uri = "http://127.0.0.1:8099/callback"
[mqtt]
url = "` + murl + `"
username = "bridge"
password = "` + mqttPassword + `"
[log]
level = "trace"
format = "json"
[http]
addr = ""
`
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs relLog
	if _, err := loginHeadless(t.Context(), loginParams{cfg: cfg, configPath: cfgPath, out: &logs, now: time.Now}); err != nil {
		t.Fatal(err)
	}
	// Make the stored token nearly expired, so the run refreshes it.
	store := fleet.NewFileTokenStore(cfg.StateDir)
	tok, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(time.Minute)
	if err := store.Save(tok); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmdRun(ctx, []string{"-c", cfgPath}, &logs, &logs) }()
	w := &watcher{last: map[string][]byte{}, notify: make(chan struct{}, 1)}
	for _, topic := range []string{"tesla2mqtt/" + model3, "tesla2mqtt/" + model3 + "/result", "tesla2mqtt/bridge/response/refresh", "tesla2mqtt/bridge/event"} {
		_ = watch.Subscribe(topic, w.note)
	}
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["battery_level"] != nil })
	_ = watch.Publish("tesla2mqtt/"+model3+"/set", []byte(`{"charge_limit":77,"transaction":"s1"}`), false)
	w.waitJSON(t, "tesla2mqtt/"+model3+"/result", func(m map[string]any) bool { return m["transaction"] == "s1" })
	_ = watch.Publish("tesla2mqtt/bridge/request/refresh", []byte(`{"transaction":"r1"}`), false)
	w.waitJSON(t, "tesla2mqtt/bridge/response/refresh", func(m map[string]any) bool { return m["transaction"] == "r1" })
	w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool { return m["type"] == "token_refreshed" })
	_ = watch.Publish("homeassistant/status", []byte("online"), false)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	secrets := append([]string{clientSecret, mqttPassword}, sec.all...)
	if len(sec.all) < 6 {
		t.Fatalf("recorded only %d OAuth secrets; the flow did not run as expected", len(sec.all))
	}
	lines, messages := logs.since(0), msgs.since(0)
	if len(lines) < 10 || len(messages) < 50 {
		t.Fatalf("only %d log lines and %d MQTT messages captured", len(lines), len(messages))
	}
	for _, s := range secrets {
		forms := []string{s, url.QueryEscape(s)}
		for _, f := range forms {
			for _, l := range lines {
				if strings.Contains(l, f) {
					t.Errorf("log line holds a secret (%.6s…): %s", s, l)
				}
			}
			for _, m := range messages {
				if strings.Contains(m, f) {
					t.Errorf("MQTT message holds a secret (%.6s…): %.300s", s, m)
				}
			}
		}
	}
	t.Logf("checked %d secrets against %d log lines and %d MQTT messages", len(secrets), len(lines), len(messages))
}
