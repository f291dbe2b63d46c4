package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Issue 15, "unattended for months": end-to-end tests through MQTT on the
// simulator and the injected clock, one per case the issue lists.

// unattended is a running stack against fleetsim with a client that sends
// set and get messages.
type unattended struct {
	*e2e
	url    string
	srvURL string
	cfg    *config.Config
	send   *mqtt.Client
	n      int
}

// unattendedSetup tunes a stack before it starts: the simulator (faults,
// a signing key), the config, the wiring.
type unattendedSetup struct {
	simOpts func(*fleetsim.Options)
	sim     func(t *testing.T, s *fleetsim.Sim, w *wiring)
	cfg     func(*config.Config)
	// clock and sim, when set, are reused (a restart of the bridge).
	clock     *clock.Manual
	reuseSim  *fleetsim.Sim
	simURL    string
	brokerURL string
	// noWait returns before the first product list succeeded (a dead end
	// at start keeps the scheduler from starting).
	noWait bool
}

func startUnattended(t *testing.T, u unattendedSetup) *unattended {
	t.Helper()
	clk := u.clock
	if clk == nil {
		clk = clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	}
	sim, simURL := u.reuseSim, u.simURL
	if sim == nil {
		o := fleetsim.Options{Clock: clk}
		if u.simOpts != nil {
			u.simOpts(&o)
		}
		sim = fleetsim.New(o)
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		simURL = srv.URL
	}
	url := u.brokerURL
	if url == "" {
		url = testBroker(t)
	}
	w := newWatcher(t, url)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.MQTT.URL = url
	if u.cfg != nil {
		u.cfg(&cfg)
	}
	wr := wiring{tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, 24*time.Hour)})}
	if u.sim != nil {
		u.sim(t, sim, &wr)
	}
	var ctx context.Context
	var sched *schedule.Manual
	var stopStack func()
	if u.noWait {
		ctx, sched, stopStack = e2eStackNoWait(t, &cfg, clk, simURL, wr)
	} else {
		_, ctx, sched, stopStack = e2eStack(t, &cfg, clk, simURL, wr)
	}
	sender := mqtt.New(mqtt.Options{URL: url, ClientID: fmt.Sprintf("e2e-sender-%p", w), Logger: zerolog.Nop()})
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if err := sender.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = sender.Close(context.Background()); stopStack() }) }
	t.Cleanup(stop)
	return &unattended{e2e: &e2e{sim: sim, clock: clk, sched: sched, w: w, stop: stop}, url: url, srvURL: simURL, cfg: &cfg, send: sender}
}

// e2eStackNoWait is e2eStack without the wait for the first reads.
func e2eStackNoWait(t *testing.T, cfg *config.Config, clk *clock.Manual, simURL string, w wiring) (context.Context, *schedule.Manual, func()) {
	t.Helper()
	sched := schedule.NewManual()
	w.baseURL, w.scheduler, w.clock = simURL, sched, clk
	ctx, cancel := context.WithCancel(context.Background())
	st, err := startStack(ctx, cfg, w, zerolog.Nop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = st.run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return ctx, sched, stop
}

// problem waits for bridge/status to carry a problem for which ok holds.
func (u *unattended) problem(t *testing.T, ok func(p map[string]any) bool) map[string]any {
	t.Helper()
	st := u.w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool {
		p, _ := m["problem"].(map[string]any)
		return p != nil && ok(p)
	})
	return st["problem"].(map[string]any)
}

// nextWait waits until the bridge waits on the clock and returns for how long.
func (u *unattended) nextWait(t *testing.T) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.clock.BlockUntil(ctx, 1); err != nil {
		t.Fatal("the bridge is not waiting on the clock")
	}
	at, _ := u.clock.NextDeadline()
	return at.Sub(u.clock.Now())
}

// set publishes a set message with a fresh transaction and returns the
// result that answers it.
func (u *unattended) set(t *testing.T, device, payload string) map[string]any {
	t.Helper()
	u.n++
	tr := fmt.Sprintf("u-%d", u.n)
	body := fmt.Sprintf(`{%s, "transaction": %q}`, payload, tr)
	if err := u.send.Publish("tesla2mqtt/"+device+"/set", []byte(body), false); err != nil {
		t.Fatal(err)
	}
	return u.w.waitJSON(t, "tesla2mqtt/"+device+"/result", func(m map[string]any) bool { return m["transaction"] == tr })
}

func resultCode(r map[string]any) string {
	if e, ok := r["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

// putToSleep makes the simulator's car sleep and waits until the bridge's
// connectivity check published it.
func (u *unattended) putToSleep(t *testing.T, vin, state string) {
	t.Helper()
	if err := u.sim.SetVehicleState(vin, state); err != nil {
		t.Fatal(err)
	}
	u.sched.Fire("connectivity")
	u.w.waitJSON(t, "tesla2mqtt/"+vin, func(m map[string]any) bool { return m["state"] == state })
}

// An unpaired key, a car that needs signing with no key configured, and an
// offline car: each command answers at once with its code and woke:false,
// and no wake_up reaches Tesla.
func TestEndToEndNoFutileWakes(t *testing.T) {
	t.Run("key not paired", func(t *testing.T) {
		u := startUnattended(t, unattendedSetup{sim: func(t *testing.T, s *fleetsim.Sim, w *wiring) {
			key, err := s.SetupSignedDemo()
			if err != nil {
				t.Fatal(err)
			}
			w.signingKey = key
		}, cfg: func(c *config.Config) { c.Tesla.Domain = "example.com" }})
		u.w.waitJSON(t, "tesla2mqtt/"+greyY, func(m map[string]any) bool { return m["key_paired"] == false })
		u.putToSleep(t, greyY, fleet.StateAsleep)
		r := u.set(t, greyY, `"charge_limit": 60`)
		if resultCode(r) != "key_not_paired" || r["woke"] != false {
			t.Fatalf("result = %v, want key_not_paired without a wake", r)
		}
		if e := r["error"].(map[string]any); e["url"] != "https://tesla.com/_ak/example.com?vin="+greyY {
			t.Errorf("no pairing link: %v", e)
		}
		if n := u.sim.Counts()["wake_up"]; n != 0 {
			t.Errorf("%d wake_up requests for a car whose key is not paired", n)
		}
	})
	t.Run("no key configured", func(t *testing.T) {
		u := startUnattended(t, unattendedSetup{})
		// Blue Y sleeps and only takes signed commands; the bridge has no key.
		u.w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool {
			return m["state"] == "asleep" && m["command_signing"] == "required"
		})
		r := u.set(t, modelY, `"charge_limit": 60`)
		if resultCode(r) != "signing_required" || r["woke"] != false {
			t.Fatalf("result = %v, want signing_required without a wake", r)
		}
		if n := u.sim.Counts()["wake_up"]; n != 0 {
			t.Errorf("%d wake_up requests for a car the bridge cannot sign for", n)
		}
	})
	t.Run("offline", func(t *testing.T) {
		u := startUnattended(t, unattendedSetup{})
		u.putToSleep(t, model3, fleet.StateOffline)
		r := u.set(t, model3, `"charge_limit": 60`)
		if resultCode(r) != "vehicle_offline" || r["woke"] != false {
			t.Fatalf("result = %v, want vehicle_offline without a wake", r)
		}
		if n := u.sim.Counts()["wake_up"]; n != 0 {
			t.Errorf("%d wake_up requests for an offline car", n)
		}
		// Asleep rather than offline: the wake is worth it and is sent.
		u.putToSleep(t, model3, fleet.StateAsleep)
		if r := u.set(t, model3, `"charge_limit": 61`); r["status"] != "ok" || r["woke"] != true {
			t.Fatalf("asleep car: %v, want ok after a wake", r)
		}
	})
}

// A set or get for a name the bridge does not know answers on the name's
// result topic and on bridge/event, with the known names.
func TestEndToEndUnknownDevice(t *testing.T) {
	u := startUnattended(t, unattendedSetup{})
	r := u.set(t, "red_three", `"charge_limit": 60`)
	e, _ := r["error"].(map[string]any)
	remedy, _ := e["remedy"].(string)
	if resultCode(r) != "unknown_device" || !strings.HasPrefix(remedy, "use one of the bridge's device names: ") ||
		!strings.Contains(remedy, model3) || !strings.Contains(remedy, modelY) {
		t.Fatalf("result = %v", r)
	}
	ev := u.w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool { return m["type"] == "unknown_device" })
	if known, _ := ev["known_devices"].([]any); ev["code"] != "unknown_device" || ev["device"] != "red_three" || !slices.Contains(known, any(model3)) {
		t.Errorf("event = %v", ev)
	}
	if err := u.send.Publish("tesla2mqtt/blue_y/get", nil, false); err != nil {
		t.Fatal(err)
	}
	u.w.waitJSON(t, "tesla2mqtt/blue_y/result", func(m map[string]any) bool { return resultCode(m) == "unknown_device" })
}

// An app not registered in the account's region: every call answers 412.
// bridge/status says so with the remedy, the bridge backs off exponentially
// instead of asking every 30 s, and once the app is registered the next try
// clears the problem and the devices appear.
func TestEndToEndNotRegisteredBacksOffThenClears(t *testing.T) {
	u := startUnattended(t, unattendedSetup{noWait: true, simOpts: nil,
		sim: func(t *testing.T, s *fleetsim.Sim, _ *wiring) { s.RequireRegistration(true) }})
	p := u.problem(t, func(p map[string]any) bool { return p["code"] == "region_not_registered" })
	if r, _ := p["remedy"].(string); !strings.Contains(r, "tesla2mqtt register") {
		t.Errorf("remedy = %q", r)
	}
	u.w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool {
		return m["type"] == "account_problem" && m["code"] == "region_not_registered"
	})
	for i, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if got := u.nextWait(t); got != want {
			t.Fatalf("retry %d waits %s, want %s", i+1, got, want)
		}
		if n := u.sim.Counts()["products"]; n != i+1 {
			t.Fatalf("%d product lists after %d failures", n, i+1)
		}
		u.clock.Advance(want)
		u.problem(t, func(p map[string]any) bool { return p["failures"] == float64(i+2) })
	}

	// The user runs 'tesla2mqtt register' (here: the partner call it makes).
	registerApp(t, u.sim, u.srvURL)
	u.clock.Advance(u.nextWait(t))
	u.w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { _, has := m["problem"]; return has && m["problem"] == nil })
	u.w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool { return m["type"] == "account_problem_cleared" })
	u.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["battery_level"] != nil })
}

// registerApp registers a domain with the simulator the way
// 'tesla2mqtt register' does: a partner token, then partner_accounts.
func registerApp(t *testing.T, sim *fleetsim.Sim, url string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.SetAppPublicKey(fleet.PublicKeyPEM(priv)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ac := fleet.AuthConfig{ClientID: "app", ClientSecret: "sekret", TokenURL: url + "/oauth2/v3/token", Audience: url}
	partner, err := fleet.PartnerToken(ctx, ac, url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fleet.New(fleet.Options{BaseURL: url, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: partner})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterPartnerAccount(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
}

// A 421 that does not go away (the account lives in another region) while
// the bridge runs: bridge/status names the region's host, polling backs off
// (a poll during the back-off sends nothing), and it clears when fixed.
func TestEndToEndWrongRegionPersistsAndBacksOff(t *testing.T) {
	u := startUnattended(t, unattendedSetup{})
	u.sim.SetWrongRegion(fleet.BaseURLEU)
	u.sched.Fire("connectivity")
	p := u.problem(t, func(p map[string]any) bool { return p["code"] == "wrong_region" })
	if r, _ := p["remedy"].(string); !strings.Contains(r, fleet.BaseURLEU) {
		t.Errorf("remedy = %q, want the account's host", r)
	}
	calls := u.sim.Counts()["vehicles"]
	for _, d := range []time.Duration{0, 10 * time.Second, 19 * time.Second} {
		u.clock.Advance(d)
		u.sched.Fire("connectivity")
		u.sched.Fire("vehicle_data_charging")
	}
	if n := u.sim.Counts()["vehicles"] - calls; n != 0 {
		t.Fatalf("%d connectivity checks during the 30 s back-off", n)
	}
	u.clock.Advance(time.Second) // 30 s after the first 421
	u.sched.Fire("connectivity")
	p = u.problem(t, func(p map[string]any) bool { return p["failures"] == 2.0 })
	since, _ := time.Parse(time.RFC3339, p["since"].(string))
	next, _ := time.Parse(time.RFC3339, p["next_retry"].(string))
	if got := next.Sub(u.clock.Now()); got != time.Minute || since.IsZero() {
		t.Errorf("second back-off = %s, want 1m (since %s)", got, since)
	}
	u.sim.SetWrongRegion("")
	u.clock.Advance(time.Minute)
	u.sched.Fire("connectivity")
	u.w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { _, has := m["problem"]; return has && m["problem"] == nil })
}

// loggedIn is a bridge run the way `run` runs it: a real login against the
// simulator's OAuth, the rotating token source, the account tracker.
type loggedIn struct {
	sim   *fleetsim.Sim
	clock *clock.Manual
	sched *schedule.Manual
	w     *watcher
	acct  *account
}

func startLoggedIn(t *testing.T, simOpts fleetsim.Options) *loggedIn {
	t.Helper()
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	simOpts.Clock = clk
	sim := fleetsim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := obConfig(t, srv.URL)
	if _, err := loginHeadless(context.Background(), loginParams{cfg: cfg, configPath: "c", out: newObSyncBuf(), now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	acct, err := openAccount(cfg, "config.toml", clk, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MQTT.URL = testBroker(t)
	w := newWatcher(t, cfg.MQTT.URL)
	sched := schedule.NewManual()
	runWithAccount(t, cfg, acct, sched, wiring{baseURL: srv.URL, clock: clk}, "bridge")
	return &loggedIn{sim: sim, clock: clk, sched: sched, w: w, acct: acct}
}

// runWithAccount runs the whole stack for cfg on acct's tokens and scopes
// (its token watcher idle: only polls use the token) until the test ends,
// and returns once the bridge has started its schedule, sched.
func runWithAccount(t *testing.T, cfg *config.Config, acct *account, sched *schedule.Manual, w wiring, what string) {
	t.Helper()
	acct.tick = make(chan time.Time)
	w.tokens, w.scopes, w.scheduler = acct.ts, acct.tracker.granted, sched
	ctx, cancel := context.WithCancel(context.Background())
	st, err := startStack(ctx, cfg, w, zerolog.Nop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st.attach(acct)
	done := make(chan struct{})
	go func() { _ = st.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-sched.Started():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not start", what)
	}
}

// Tesla revokes the login (password change) while the access token has
// hours left: the next poll's 401 forces a refresh, Tesla answers
// login_required, and bridge/status, the event and the login command say
// so within that one poll; then polling sends nothing (no 401 storm).
func TestEndToEndRevokedLoginWithinOnePoll(t *testing.T) {
	l := startLoggedIn(t, fleetsim.Options{})
	l.w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == false })
	l.sim.RevokeTokens()
	l.clock.Advance(time.Minute)
	l.sched.Fire("connectivity") // one poll interval
	st := l.w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == true })
	if st["login_command"] != "tesla2mqtt login -c config.toml" {
		t.Errorf("login_command = %v", st["login_command"])
	}
	l.w.waitJSON(t, "tesla2mqtt/bridge/event", func(m map[string]any) bool {
		return m["type"] == "login_required" && m["login_command"] == "tesla2mqtt login -c config.toml"
	})
	if car := l.w.waitJSON(t, "tesla2mqtt/"+model3, func(map[string]any) bool { return true }); car["battery_level"] == nil {
		t.Errorf("the car's values were lost: %v", car)
	}
	before := sumCounts(l.sim.Counts())
	for range 10 {
		l.clock.Advance(time.Minute)
		l.sched.Fire("connectivity")
		l.sched.Fire("vehicle_data_charging")
		l.sched.Fire("live_status")
	}
	if n := sumCounts(l.sim.Counts()) - before; n != 0 {
		t.Errorf("%d Fleet API requests in 10 minutes without a login, want 0", n)
	}
}

func sumCounts(c map[string]int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Access tokens that live 10 minutes are refreshed about every 9 minutes
// while the bridge polls every minute, not before almost every poll.
func TestEndToEndShortTokensRefreshedAtASaneRate(t *testing.T) {
	l := startLoggedIn(t, fleetsim.Options{AccessTokenTTL: 10 * time.Minute})
	_, before := l.sim.AuthStats()
	for range 120 {
		l.clock.Advance(time.Minute)
		l.sched.Fire("connectivity")
	}
	_, after := l.sim.AuthStats()
	// 120 min / 9 min ≈ 13; a fixed 5 min margin would make it 24.
	if n := after - before; n < 12 || n > 14 {
		t.Errorf("%d refreshes in 2 h of 10 min tokens, want about 13", n)
	}
	l.w.waitJSON(t, "tesla2mqtt/bridge/status", func(m map[string]any) bool { return m["login_needed"] == false })
}

// A set with three keys costs three commands and one confirming read, not
// three.
func TestEndToEndThreeKeySetCostsOneRead(t *testing.T) {
	u := startUnattended(t, unattendedSetup{})
	u.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "online" && m["battery_level"] != nil })
	before := u.sim.Counts()
	tr := "three-keys"
	body := `{"charge_limit": 70, "charge_current": 12, "sentry_mode": "ON", "transaction": "` + tr + `"}`
	if err := u.send.Publish("tesla2mqtt/"+model3+"/set", []byte(body), false); err != nil {
		t.Fatal(err)
	}
	u.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool {
		return m["charge_limit"] == 70.0 && m["charge_current"] == 12.0 && m["sentry_mode"] == true
	})
	after := u.sim.Counts()
	if n := after["command"] - before["command"]; n != 3 {
		t.Errorf("%d commands, want 3", n)
	}
	if n := after["vehicle_data"] - before["vehicle_data"]; n != 1 {
		t.Errorf("%d vehicle_data reads after a 3-key set, want 1", n)
	}
}

// A restart while a car sleeps: the car is not read (that would wake it),
// yet its state keeps the last values with state "asleep" and last_seen,
// its availability is online, and its climate has a temperature.
func TestEndToEndRestartKeepsASleepingCarsValues(t *testing.T) {
	stateDir := t.TempDir()
	keep := func(c *config.Config) { c.StateDir = stateDir }
	first := startUnattended(t, unattendedSetup{cfg: keep})
	before := first.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["battery_level"] != nil })
	first.putToSleep(t, model3, fleet.StateAsleep)
	first.stop()

	// The same account and clock, a new bridge on a new broker (nothing
	// retained from the first run).
	reads := first.sim.Counts()["vehicle_data"]
	second := startUnattended(t, unattendedSetup{cfg: keep, clock: first.clock, reuseSim: first.sim, simURL: first.srvURL})
	car := second.w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["state"] == "asleep" })
	for _, k := range []string{"battery_level", "charge_limit", "odometer", "inside_temp", "locked", "last_seen", "updated_at"} {
		if car[k] == nil || car[k] != before[k] {
			t.Errorf("%s after the restart = %v, before = %v", k, car[k], before[k])
		}
	}
	if cl, _ := car["climate"].(map[string]any); cl == nil || cl["current_temperature"] == nil {
		t.Errorf("the sleeping car's climate has no temperature: %v", car["climate"])
	}
	if a := string(second.w.get("tesla2mqtt/" + model3 + "/availability")); a != "online" {
		t.Errorf("availability = %q, want online", a)
	}
	if n := second.sim.Counts()["vehicle_data"] - reads; n != 0 {
		t.Errorf("%d vehicle_data reads of the sleeping car after the restart", n)
	}
	fi, err := os.Stat(filepath.Join(stateDir, "devices.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("devices.json: %v, mode %v; want 0600", err, fi)
	}
}

// The car's Refresh button presses its get topic: one read, and a second
// press within 30 s is refused like any get (every read costs money).
func TestEndToEndRefreshButton(t *testing.T) {
	u := startUnattended(t, unattendedSetup{})
	dev := u.w.waitJSON(t, "homeassistant/device/tesla2mqtt_"+model3+"/config", func(m map[string]any) bool { return m["cmps"] != nil })
	c, _ := dev["cmps"].(map[string]any)["refresh"].(map[string]any)
	if c["platform"] != "button" || c["command_topic"] != "tesla2mqtt/"+model3+"/get" || c["payload_press"] != "PRESS" {
		t.Fatalf("refresh button component = %v", c)
	}
	before := u.sim.Counts()["vehicle_data"]
	u.clock.Advance(time.Minute)
	press := func() {
		if err := u.send.Publish("tesla2mqtt/"+model3+"/get", []byte("PRESS"), false); err != nil {
			t.Fatal(err)
		}
		// A request after the get goes through the same router, so when it
		// is answered the get has been handled.
		tr := fmt.Sprintf("after-%d", u.n)
		u.n++
		if err := u.send.Publish("tesla2mqtt/bridge/request/republish", []byte(`{"transaction":"`+tr+`"}`), false); err != nil {
			t.Fatal(err)
		}
		u.w.waitJSON(t, "tesla2mqtt/bridge/response/republish", func(m map[string]any) bool { return m["transaction"] == tr })
	}
	press()
	// The read runs on a polling goroutine after the get is handled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.sim.WaitCount(ctx, "vehicle_data", before+1); err != nil {
		t.Fatalf("no read after a press: %v", err)
	}
	press()
	if n := u.sim.Counts()["vehicle_data"] - before; n != 1 {
		t.Errorf("%d reads after two presses within 30 s, want 1", n)
	}
}
