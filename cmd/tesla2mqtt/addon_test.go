package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

const addonToken = "supervisor-token-5c1e77"

// fakeSupervisor answers GET /services/mqtt like the Supervisor with the
// Mosquitto add-on installed, for the right bearer token only.
type fakeSupervisor struct {
	status int    // 0 = 200
	body   string // "" = a broker at host:port
	calls  atomic.Int32
}

func (f *fakeSupervisor) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/services/mqtt" || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"result":"error","message":"not found"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+addonToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"result":"error","message":"Unauthorized"}`))
			return
		}
		if f.status != 0 {
			w.WriteHeader(f.status)
		}
		_, _ = w.Write([]byte(f.body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// addonFiles writes options.json into a temporary /data.
func addonFiles(t *testing.T, options string) addonEnv {
	t.Helper()
	data := t.TempDir()
	path := filepath.Join(data, "options.json")
	if err := os.WriteFile(path, []byte(options), 0o600); err != nil {
		t.Fatal(err)
	}
	return addonEnv{options: path, dataDir: data, token: addonToken, client: &http.Client{Timeout: 5 * time.Second}}
}

const addonOptions = `{"client_id":"app","client_secret":"ta-secret.9d1","domain":"tesla.example.com","region":"auto",
 "vehicles":[{"vin":"5YJ3E1EA7KF000001","name":"model3"}],"sites":[],"schedules":"responsive","units":"metric",
 "mqtt_url":"","mqtt_username":"","mqtt_password":"","teslamate_compat":false,"log_level":"info"}`

func TestAddonConfigFromSupervisor(t *testing.T) {
	for _, c := range []struct {
		name, body, url string
	}{
		{"mosquitto", `{"result":"ok","data":{"host":"core-mosquitto","port":1883,"ssl":false,"protocol":"3.1.1","username":"addons","password":"Eeph7xai"}}`, "tcp://core-mosquitto:1883"},
		{"tls", `{"result":"ok","data":{"host":"core-mosquitto","port":8883,"ssl":true,"protocol":"3.1.1","username":"addons","password":"Eeph7xai"}}`, "ssl://core-mosquitto:8883"},
		{"ipv6, no port", `{"result":"ok","data":{"host":"fd00::2","ssl":false,"username":"addons","password":"Eeph7xai"}}`, "tcp://[fd00::2]:1883"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sup := &fakeSupervisor{body: c.body}
			env := addonFiles(t, addonOptions)
			env.supervisorURL = sup.start(t).URL
			cfg, err := addonConfig(t.Context(), env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MQTT.URL != c.url || cfg.MQTT.Username != "addons" || cfg.MQTT.Password != "Eeph7xai" {
				t.Errorf("broker %q user %q password %q, want %s addons Eeph7xai", cfg.MQTT.URL, cfg.MQTT.Username, cfg.MQTT.Password, c.url)
			}
			if cfg.StateDir != env.dataDir || cfg.HTTP.Addr != "0.0.0.0:8088" || cfg.Tesla.ClientID != "app" ||
				cfg.Units != "metric" || cfg.Schedule.VehicleDataDriving != "@every 30s" || cfg.Vehicles[0].Name != "model3" {
				t.Errorf("config from options: %+v", cfg)
			}
		})
	}
}

// An mqtt_url option is the user's own broker: the Supervisor is not asked.
func TestAddonOwnBroker(t *testing.T) {
	sup := &fakeSupervisor{status: http.StatusInternalServerError}
	env := addonFiles(t, strings.Replace(addonOptions, `"mqtt_url":""`, `"mqtt_url":"tcp://192.0.2.10:1883"`, 1))
	env.supervisorURL = sup.start(t).URL
	env.token = ""
	cfg, err := addonConfig(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.URL != "tcp://192.0.2.10:1883" || sup.calls.Load() != 0 {
		t.Errorf("url %q, Supervisor asked %d times", cfg.MQTT.URL, sup.calls.Load())
	}
}

// Every way of not getting a broker says what to do, exits 2 where the user
// must act, and never shows the Supervisor token.
func TestAddonNoBroker(t *testing.T) {
	cases := []struct {
		name   string
		sup    *fakeSupervisor
		token  string
		want   string
		noMQTT bool
	}{
		{"no mosquitto (400)", &fakeSupervisor{status: http.StatusBadRequest, body: `{"result":"error","message":"Service not enabled"}`}, addonToken,
			"install and start the Mosquitto broker add-on", true},
		{"empty service", &fakeSupervisor{body: `{"result":"ok","data":{}}`}, addonToken, "install and start the Mosquitto broker add-on", true},
		{"401", &fakeSupervisor{}, "wrong-token-0000", "refused to name the MQTT broker (HTTP 401)", false},
		{"403", &fakeSupervisor{status: http.StatusForbidden, body: `{"result":"error","message":"no access"}`}, addonToken,
			"services: [mqtt:want]", false},
		{"no token", &fakeSupervisor{}, "", "set the mqtt_url option", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := addonFiles(t, addonOptions)
			env.supervisorURL = c.sup.start(t).URL
			env.token = c.token
			_, err := addonConfig(t.Context(), env)
			var ee *exitError
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("error %v, want exit 2 saying %q", err, c.want)
			}
			if c.noMQTT != errors.Is(err, errNoMQTTService) {
				t.Errorf("errors.Is(errNoMQTTService) = %v", !c.noMQTT)
			}
			if c.token != "" && strings.Contains(err.Error(), c.token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestAddonBadOptions(t *testing.T) {
	env := addonFiles(t, `{"client_id":"app","region":"mars","vehicles":[{"vin":"short","name":"x"}],"schedules":"turbo"}`)
	_, err := addonConfig(t.Context(), env)
	for _, want := range []string{"Configuration", "region:", "vehicles[0].vin:", "schedules:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %q", err, want)
		}
	}
	env = addonFiles(t, addonOptions)
	env.options = filepath.Join(env.dataDir, "missing.json")
	env.token = ""
	if _, err := addonConfig(t.Context(), env); err == nil || !strings.Contains(err.Error(), "not running as a Home Assistant add-on") {
		t.Errorf("outside an add-on: %v", err)
	}
}

// The add-on as Home Assistant runs it: the broker's address and login come
// only from the Supervisor, and the bridge comes online there with the
// status page served; no secret reaches the log.
func TestAddonRunsWithSupervisorBroker(t *testing.T) {
	const mqttPassword = "Eeph7xai-mosquitto"
	hash, _ := bcrypt.GenerateFromPassword([]byte(mqttPassword), bcrypt.MinCost)
	brk := broker.New(broker.Options{Addr: "127.0.0.1:0", Users: []broker.User{{Username: "addons", PasswordHash: string(hash)}},
		Logger: zerolog.Nop()})
	if err := brk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = brk.Close() })
	host, port, _ := strings.Cut(brk.Addr(), ":")
	sup := &fakeSupervisor{body: `{"result":"ok","data":{"host":"` + host + `","port":` + port +
		`,"ssl":false,"protocol":"3.1.1","username":"addons","password":"` + mqttPassword + `"}}`}
	env := addonFiles(t, addonOptions)
	surl := sup.start(t).URL

	online := make(chan struct{}, 1)
	watch := mqtt.New(mqtt.Options{URL: "tcp://" + brk.Addr(), ClientID: "addon-watch", Username: "addons", Password: mqttPassword, Logger: zerolog.Nop()})
	if err := watch.Subscribe("tesla2mqtt/bridge/state", func(m mqtt.Message) {
		if string(m.Payload) == "online" {
			select {
			case online <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := watch.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Close(context.Background()) })

	t.Setenv("SUPERVISOR_TOKEN", addonToken)
	// All interfaces, as in the add-on, so that the Ingress rules apply.
	_, httpPort, _ := net.SplitHostPort(obFreeAddr(t))
	httpAddr := "0.0.0.0:" + httpPort
	logs := &notifyLog{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- cmdAddon(ctx, []string{"--options", env.options, "--data", env.dataDir, "--supervisor", surl, "--http-addr", httpAddr}, logs, logs)
	}()
	select {
	case <-online:
	case err := <-done:
		t.Fatalf("addon ended before coming online: %v\n%s", err, strings.Join(logs.since(0), "\n"))
	case <-time.After(10 * time.Second):
		t.Fatalf("bridge/state never online on the Supervisor's broker\n%s", strings.Join(logs.since(0), "\n"))
	}
	logs.waitFor(t, "tesla2mqtt running", done) // logged once the status page listens
	resp, err := http.Get("http://127.0.0.1:" + httpPort + "/healthz")
	if err != nil {
		t.Fatalf("status page: %v", err)
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable { // no Tesla login yet
		t.Errorf("/healthz before a login: %d, want 503", resp.StatusCode)
	}
	// The add-on has no shell to run 'tesla2mqtt login -c /data/options.json' in.
	if !strings.Contains(string(health), "Log in with Tesla") || strings.Contains(string(health), "tesla2mqtt login -c") {
		t.Errorf("/healthz login hint in the add-on: %s", health)
	}
	// Only the Supervisor (172.30.32.2) is Ingress. Any other peer, here
	// loopback, gets the read-only page, whatever Ingress header it sends.
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+httpPort+"/", nil)
	req.Header.Set("X-Ingress-Path", "/api/hassio_ingress/forged")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), "forged") || !strings.Contains(string(page), "through Home Assistant") ||
		strings.Contains(string(page), `id="login-form"`) || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the add-on page trusted a peer that is not the Supervisor:\n%s", page)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("addon: %v", err)
	}
	if sup.calls.Load() != 1 {
		t.Errorf("Supervisor asked %d times, want 1", sup.calls.Load())
	}
	lines := logs.since(0)
	for _, l := range lines {
		for _, s := range []string{addonToken, mqttPassword, "ta-secret.9d1"} {
			if strings.Contains(l, s) {
				t.Errorf("log line holds a secret (%.6s…): %s", s, l)
			}
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), "press Log in with Tesla") {
		t.Errorf("no line tells the add-on user how to log in:\n%s", strings.Join(lines, "\n"))
	}
}

// notifyLog is a relLog that signals each write, so a test can wait for a
// line instead of sleeping.
type notifyLog struct {
	relLog
	notify chan struct{}
}

func (l *notifyLog) Write(p []byte) (int, error) {
	n, err := l.relLog.Write(p)
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return n, err
}

// waitFor waits for a line holding s, failing when done delivers first.
func (l *notifyLog) waitFor(t *testing.T, s string, done <-chan error) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, line := range l.since(0) {
			if strings.Contains(line, s) {
				return
			}
		}
		select {
		case <-l.notify:
		case err := <-done:
			t.Fatalf("ended before logging %q: %v\n%s", s, err, strings.Join(l.since(0), "\n"))
		case <-deadline:
			t.Fatalf("no log line with %q\n%s", s, strings.Join(l.since(0), "\n"))
		}
	}
}
