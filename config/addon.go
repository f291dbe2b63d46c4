package config

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// AddonOptions is /data/options.json of the Home Assistant add-on: the
// options a Home Assistant user fills in on the add-on's Configuration tab.
// The Supervisor checks them against the add-on's schema first; the JSON
// names here must match addon/tesla2mqtt/config.yaml (a test compares them).
type AddonOptions struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Domain       string `json:"domain"`
	Region       string `json:"region"`
	// RedirectURI is the address Tesla sends the browser back to after the
	// login on the status page; it must be registered with the Tesla app.
	RedirectURI    string `json:"redirect_uri"`
	PrivateKeyFile string `json:"private_key_file"`

	Vehicles []AddonVehicle `json:"vehicles"`
	Sites    []AddonSite    `json:"sites"`
	// Schedules names a polling preset: economy, balanced or responsive.
	Schedules string `json:"schedules"`
	Units     string `json:"units"`
	// BudgetUSD is [budget] monthly_usd; nil keeps the default.
	BudgetUSD *float64 `json:"budget_usd"`

	// MQTTURL replaces the broker the Supervisor offers (the Mosquitto
	// add-on) with another one.
	MQTTURL      string `json:"mqtt_url"`
	MQTTUsername string `json:"mqtt_username"`
	MQTTPassword string `json:"mqtt_password"`
	// TeslaMateCompat is [mqtt] teslamate_compat.
	TeslaMateCompat bool `json:"teslamate_compat"`

	LogLevel string `json:"log_level"`
}

// AddonVehicle names one car in the add-on's options.
type AddonVehicle struct {
	VIN  string `json:"vin"`
	Name string `json:"name"`
}

// AddonSite names one energy site in the add-on's options.
type AddonSite struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// AddonHTTPAddr is where the status page listens in the add-on: Home
// Assistant's Ingress proxy reaches it from the Supervisor's network, so it
// cannot be loopback; the add-on publishes no host port for it.
const AddonHTTPAddr = "0.0.0.0:8088"

// ParseAddonOptions decodes options.json. Unknown keys are errors, as in the
// TOML file: a key the add-on's schema has but this version does not know
// would otherwise be dropped without a word.
func ParseAddonOptions(r io.Reader) (*AddonOptions, error) {
	var o AddonOptions
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("add-on options: %w", err)
	}
	return &o, nil
}

// SchedulePreset returns the polling schedules of a named preset, built
// on def (the defaults). balanced is the default schedule; economy reads
// less often where freshness matters least (parked cars, site totals);
// responsive reads a driving car and the energy flows twice a minute. No
// preset changes quiet_after and suspend_for: a car must still be left
// alone long enough to fall asleep.
func SchedulePreset(name string, def Schedule) (Schedule, bool) {
	s := def
	switch name {
	case "", "balanced":
	case "economy":
		s.Connectivity = "@every 2m"
		s.VehicleDataDriving = "@every 2m"
		s.VehicleDataCharging = "@every 15m"
		s.VehicleDataIdle = "@every 30m"
		s.LiveStatus = "@every 5m"
		s.SiteInfo = "@every 6h"
		s.EnergyHistory = "@every 1h"
		s.FleetStatus = "@every 12h"
		s.Products = "@every 12h"
	case "responsive":
		s.Connectivity = "@every 30s"
		s.VehicleDataDriving = "@every 30s"
		s.VehicleDataCharging = "@every 2m"
		s.VehicleDataIdle = "@every 5m"
		s.LiveStatus = "@every 30s"
		s.EnergyHistory = "@every 5m"
	default:
		return def, false
	}
	return s, true
}

// SchedulePresets are the names SchedulePreset knows.
var SchedulePresets = []string{"economy", "balanced", "responsive"}

// FromAddonOptions builds the configuration of the add-on: Default() with
// the user's options over it, state in stateDir (the add-on's /data), the
// status page on AddonHTTPAddr and console logs (Home Assistant's log view
// shows text). The MQTT broker stays empty unless mqtt_url is set; the
// caller fills it in from the Supervisor. Problems are reported all at once
// under the option names the user sees ("vehicles[0].vin").
func FromAddonOptions(o *AddonOptions, stateDir string) (*Config, error) {
	c := Default()
	var ps problems
	c.StateDir = stateDir
	c.Tesla.ClientID = strings.TrimSpace(o.ClientID)
	c.Tesla.ClientSecret = strings.TrimSpace(o.ClientSecret)
	c.Tesla.Domain = strings.TrimSpace(o.Domain)
	if o.Region != "" {
		c.Tesla.Region = o.Region
	}
	if o.RedirectURI != "" {
		c.Tesla.RedirectURI = o.RedirectURI
	}
	c.Tesla.PrivateKeyFile = o.PrivateKeyFile
	for _, v := range o.Vehicles {
		c.Vehicles = append(c.Vehicles, Vehicle{VIN: strings.TrimSpace(v.VIN), Name: v.Name})
	}
	for _, s := range o.Sites {
		c.Sites = append(c.Sites, Site{ID: s.ID, Name: s.Name})
	}
	if s, ok := SchedulePreset(o.Schedules, c.Schedule); ok {
		c.Schedule = s
	} else {
		ps.add("schedules", "%q is not a preset (known: %s)", o.Schedules, strings.Join(SchedulePresets, ", "))
	}
	if o.Units != "" {
		c.Units = o.Units
	}
	if o.BudgetUSD != nil {
		c.Budget.MonthlyUSD = *o.BudgetUSD
	}
	c.MQTT.URL = strings.TrimSpace(o.MQTTURL)
	c.MQTT.Username = o.MQTTUsername
	c.MQTT.Password = o.MQTTPassword
	if c.MQTT.URL == "" && (o.MQTTUsername != "" || o.MQTTPassword != "") {
		ps.add("mqtt_username", "is only used with mqtt_url; the Mosquitto add-on's login comes from the Supervisor")
	}
	c.MQTT.TeslaMateCompat = o.TeslaMateCompat
	if o.LogLevel != "" {
		c.Log.Level = o.LogLevel
	}
	c.Log.Format = "console"
	c.HTTP.Addr = AddonHTTPAddr
	for _, p := range Problems(c.Validate()) {
		ps = append(ps, Problem{Key: addonKey(p.Key), Message: p.Message})
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// addonKeys maps configuration keys to the add-on's option names, so a
// problem names the field the user can see.
var addonKeys = map[string]string{
	"tesla.client_id": "client_id", "tesla.client_secret": "client_secret", "tesla.domain": "domain",
	"tesla.region": "region", "tesla.redirect_uri": "redirect_uri", "tesla.private_key_file": "private_key_file",
	"mqtt.url": "mqtt_url", "mqtt.username": "mqtt_username", "mqtt.password": "mqtt_password",
	"budget.monthly_usd": "budget_usd", "log.level": "log_level",
}

func addonKey(key string) string {
	if k, ok := addonKeys[key]; ok {
		return k
	}
	for from, to := range map[string]string{"vehicle[": "vehicles[", "site[": "sites["} {
		if strings.HasPrefix(key, from) {
			return to + strings.TrimPrefix(key, from)
		}
	}
	return key
}
