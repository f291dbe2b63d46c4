package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFromAddonOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "options.json")
	if err := os.WriteFile(path, []byte(`{
	  "client_id": " app-id ", "client_secret": "ta-secret.x", "domain": "tesla.example.com", "region": "eu",
	  "redirect_uri": "https://ha.example.com/api/hassio_ingress/abc/auth/callback",
	  "private_key_file": "/share/tesla2mqtt/private-key.pem",
	  "vehicles": [{"vin": "5YJ3E1EA7KF000001", "name": "model3"}],
	  "sites": [{"id": 1234567890, "name": "home"}],
	  "schedules": "economy", "units": "metric", "budget_usd": 5,
	  "mqtt_url": "", "mqtt_username": "", "mqtt_password": "",
	  "teslamate_compat": true, "log_level": "debug"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o, err := ParseAddonOptions(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromAddonOptions(o, "/data")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	econ, _ := SchedulePreset("economy", want.Schedule)
	checks := []struct {
		key      string
		got, exp any
	}{
		{"state_dir", c.StateDir, "/data"},
		{"client_id", c.Tesla.ClientID, "app-id"},
		{"client_secret", c.Tesla.ClientSecret, "ta-secret.x"},
		{"domain", c.Tesla.Domain, "tesla.example.com"},
		{"region", c.Tesla.Region, "eu"},
		{"redirect_uri", c.Tesla.RedirectURI, "https://ha.example.com/api/hassio_ingress/abc/auth/callback"},
		{"private_key_file", c.Tesla.PrivateKeyFile, "/share/tesla2mqtt/private-key.pem"},
		{"vehicle", c.Vehicles[0], Vehicle{VIN: "5YJ3E1EA7KF000001", Name: "model3"}},
		{"site", c.Sites[0], Site{ID: 1234567890, Name: "home"}},
		{"schedule", c.Schedule, econ},
		{"units", c.Units, "metric"},
		{"budget", c.Budget.MonthlyUSD, 5.0},
		{"mqtt.url", c.MQTT.URL, ""},
		{"teslamate", c.MQTT.TeslaMateCompat, true},
		{"log.level", c.Log.Level, "debug"},
		{"log.format", c.Log.Format, "console"},
		{"http.addr", c.HTTP.Addr, "0.0.0.0:8088"},
		{"scopes", len(c.Tesla.Scopes), len(DefaultScopes)},
	}
	for _, ch := range checks {
		if ch.got != ch.exp {
			t.Errorf("%s = %v, want %v", ch.key, ch.got, ch.exp)
		}
	}
}

// The add-on's defaults (every option empty) make a valid config that
// keeps Default()'s schedule, so the add-on starts and waits for a login.
func TestFromAddonOptionsEmpty(t *testing.T) {
	o, err := ParseAddonOptions(strings.NewReader(`{"region":"auto","schedules":"balanced","units":"native","log_level":"info","vehicles":[],"sites":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromAddonOptions(o, "/data")
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule != Default().Schedule || c.Units != "native" || c.MQTT.URL != "" || c.Budget.MonthlyUSD != 10 {
		t.Errorf("defaults changed: %+v", c)
	}
}

// Every problem is reported at once, under the option name the user sees
// on the add-on's Configuration tab.
func TestFromAddonOptionsProblems(t *testing.T) {
	budget := -1.0
	o := &AddonOptions{Region: "mars", Schedules: "turbo", Units: "furlongs", BudgetUSD: &budget,
		Vehicles:     []AddonVehicle{{VIN: "short", Name: "a b"}},
		Sites:        []AddonSite{{ID: 0, Name: "home"}},
		MQTTUsername: "u", LogLevel: "loud", RedirectURI: "not a url"}
	_, err := FromAddonOptions(o, "/data")
	got := map[string]bool{}
	for _, p := range Problems(err) {
		got[p.Key] = true
	}
	for _, k := range []string{"region", "schedules", "units", "budget_usd", "vehicles[0].vin", "vehicles[0].name",
		"sites[0].id", "mqtt_username", "log_level", "redirect_uri"} {
		if !got[k] {
			t.Errorf("no problem reported for %s; got %v", k, Problems(err))
		}
	}
	if _, err := ParseAddonOptions(strings.NewReader(`{"client_id":"x","mqtt_host":"core-mosquitto"}`)); err == nil ||
		!strings.Contains(err.Error(), "mqtt_host") {
		t.Errorf("unknown option: %v, want an error naming it", err)
	}
}

// Each preset is a valid schedule; economy never reads more often than
// balanced, responsive never less often, and none touches the sleep timers
// (a car must still be left alone long enough to fall asleep).
func TestSchedulePresets(t *testing.T) {
	def := Default().Schedule
	for _, name := range SchedulePresets {
		s, ok := SchedulePreset(name, def)
		if !ok {
			t.Fatalf("preset %s unknown", name)
		}
		c := Default()
		c.Schedule = s
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if s.QuietAfter != def.QuietAfter || s.SuspendFor != def.SuspendFor {
			t.Errorf("%s changes the sleep timers", name)
		}
	}
	econ, _ := SchedulePreset("economy", def)
	resp, _ := SchedulePreset("responsive", def)
	if econ == def || resp == def {
		t.Errorf("presets do not differ from balanced: economy %+v responsive %+v", econ, resp)
	}
	every := func(spec string) time.Duration {
		d, err := time.ParseDuration(strings.TrimPrefix(spec, "@every "))
		if err != nil {
			t.Fatalf("spec %q: the presets use @every specs", spec)
		}
		return d
	}
	dv, ev, rv := reflect.ValueOf(def), reflect.ValueOf(econ), reflect.ValueOf(resp)
	for i := range dv.NumField() {
		f := dv.Type().Field(i)
		if f.Tag.Get("kind") != "" { // durations and the time zone are not cron specs
			continue
		}
		d, e, r := every(dv.Field(i).String()), every(ev.Field(i).String()), every(rv.Field(i).String())
		if e < d || r > d {
			t.Errorf("schedule.%s: economy %v, balanced %v, responsive %v", tomlName(f), e, d, r)
		}
	}
	if _, ok := SchedulePreset("turbo", def); ok {
		t.Error("an unknown preset was accepted")
	}
}
