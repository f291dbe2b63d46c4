package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Validate checks the whole configuration and returns an *Error holding every
// problem with its key path, or nil. It reports all problems at once so that
// a user fixes the file in one pass instead of one restart per mistake.
// Array entries are named by their 0-based index: vehicle[0] is the first
// [[vehicle]] of the file.
func (c *Config) Validate() error {
	var ps problems
	if c.StateDir == "" {
		ps.add("state_dir", "must not be empty: the token is kept there")
	}
	oneOf(&ps, "units", c.Units, "native", "metric", "imperial")
	c.Tesla.validate(&ps)
	c.MQTT.validate(&ps)
	c.validateBroker(&ps)
	c.validateDevices(&ps)
	c.validateBLE(&ps)
	c.Schedule.validate(&ps)
	if c.Shard.Count < 1 || c.Shard.Index < 0 || c.Shard.Index >= c.Shard.Count {
		ps.add("shard", "want 0 <= index < count and count >= 1, got index %d, count %d", c.Shard.Index, c.Shard.Count)
	}
	c.Commands.validate(&ps)
	c.validateBudget(&ps)
	validateEntities(&ps, c.Entities)
	c.validateTelemetry(&ps)
	oneOf(&ps, "mqtt.discovery_mode", c.MQTT.DiscoveryMode, "device", "entity")
	oneOf(&ps, "log.level", c.Log.Level, "trace", "debug", "info", "warn", "error")
	oneOf(&ps, "log.format", c.Log.Format, "auto", "console", "json")
	if c.HTTP.Addr != "" && c.HTTP.Addr != HTTPOff {
		validateHostPort(&ps, "http.addr", c.HTTP.Addr)
	}
	if c.HTTP.PasswordHash != "" && !isBcryptHash(c.HTTP.PasswordHash) {
		ps.add("http.password_hash", "must be a bcrypt hash ($2b$…, 60 characters); make one with 'tesla2mqtt hash-password'")
	}
	return ps.err()
}

func (t *Tesla) validate(ps *problems) {
	oneOf(ps, "tesla.region", t.Region, "auto", "na", "eu", "cn")
	for i, s := range t.Scopes {
		if !slices.Contains(DefaultScopes, s) {
			ps.add(fmt.Sprintf("tesla.scopes[%d]", i), "unknown scope %q (known: %s)",
				s, strings.Join(DefaultScopes, ", "))
		}
	}
	for _, s := range []string{"openid", "offline_access"} {
		if !slices.Contains(t.Scopes, s) {
			ps.add("tesla.scopes", "must include %q: without it Tesla issues no refresh token and every login expires within hours", s)
		}
	}
	validateURL(ps, "tesla.redirect_uri", t.RedirectURI, false)
	validateURL(ps, "tesla.api_base_url", t.APIBaseURL, true)
	validateURL(ps, "tesla.auth_base_url", t.AuthBaseURL, true)
	validateURL(ps, "tesla.public_key_url", t.PublicKeyURL, true)
	validateURL(ps, "tesla.command_proxy_url", t.CommandProxyURL, true)
	if t.CommandProxyCAFile != "" && t.CommandProxyURL == "" {
		ps.add("tesla.command_proxy_ca_file", "is only used with tesla.command_proxy_url, which is empty")
	}
	if d, err := time.ParseDuration(t.Timeout); err != nil {
		ps.add("tesla.timeout", "%q is not a Go duration such as \"30s\" or \"1m\"", t.Timeout)
	} else if d <= 0 {
		ps.add("tesla.timeout", "must be greater than 0, got %q", t.Timeout)
	}
}

// validateURL requires an absolute http(s) URL with a host; empty is accepted
// when optional (the key then means "Tesla's own host").
func validateURL(ps *problems, key, s string, optional bool) {
	if s == "" && optional {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.add(key, "%q is not an absolute http:// or https:// URL", s)
	}
}

// mqttSchemes are the URL schemes paho connects to.
var mqttSchemes = []string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}

func (m *MQTT) validate(ps *problems) {
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		switch {
		case err != nil:
			ps.add("mqtt.url", "%q is not a URL", m.URL)
		case !slices.Contains(mqttSchemes, u.Scheme):
			ps.add("mqtt.url", "scheme of %q must be one of %s", m.URL, strings.Join(mqttSchemes, ", "))
		case u.Host == "":
			ps.add("mqtt.url", "%q has no host (write it as tcp://host:1883)", m.URL)
		}
	}
	validateTopic(ps, "mqtt.base_topic", m.BaseTopic)
	validateTopic(ps, "mqtt.discovery_prefix", m.DiscoveryPrefix)
	if (m.CertFile == "") != (m.KeyFile == "") {
		ps.add("mqtt.cert_file", "mqtt.cert_file and mqtt.key_file go together: set both for a client certificate, or neither")
	}
	for _, f := range []struct{ key, path string }{{"mqtt.ca_file", m.CAFile}, {"mqtt.cert_file", m.CertFile}, {"mqtt.key_file", m.KeyFile}} {
		if f.path != "" && m.URL == "" {
			ps.add(f.key, "is only used with an external broker (mqtt.url), which is empty")
		}
	}
	if m.TeslaMateCompat {
		validateTopic(ps, "mqtt.teslamate_prefix", m.TeslaMatePrefix)
	}
}

// validateTopic checks a topic prefix that device topics are appended to:
// wildcards would make it unpublishable, and a stray '/' would create an
// empty level that Home Assistant and most tools treat as a different topic.
func validateTopic(ps *problems, key, topic string) {
	switch {
	case topic == "":
		ps.add(key, "must not be empty")
	case strings.ContainsAny(topic, "+#"):
		ps.add(key, "%q must not contain the wildcards '+' or '#'", topic)
	case strings.HasPrefix(topic, "/") || strings.HasSuffix(topic, "/"):
		ps.add(key, "%q must not start or end with '/'", topic)
	case strings.Contains(topic, "//"):
		ps.add(key, "%q must not contain an empty level ('//')", topic)
	}
}

func validateHostPort(ps *problems, key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ps.add(key, "%q is not host:port (such as 127.0.0.1:1883 or :1883)", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add(key, "port %q of %q must be a number from 0 to 65535", port, addr)
	}
}

var (
	// vinPattern: ISO 3779 leaves out I, O and Q, which read like 1 and 0.
	vinPattern = regexp.MustCompile(`^[A-HJ-NPR-Z0-9]{17}$`)
	// namePattern: device names become MQTT topic segments and HA object ids.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// snakeCase is the form of every entity key.
	snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
)

// reservedName would collide with <base>/bridge/... topics.
const reservedName = "bridge"

func (c *Config) validateDevices(ps *problems) {
	vins := map[string]string{}  // VIN → key of its first use
	names := map[string]string{} // name → key of its first use, across cars and sites
	ids := map[int64]string{}    // site id → key of its first use
	checkName := func(key, name string) {
		switch {
		case name == "":
			return
		case !namePattern.MatchString(name):
			ps.add(key, "%q may only hold letters, digits, '_' and '-' (it becomes an MQTT topic level)", name)
		case name == reservedName:
			ps.add(key, "%q is reserved for the bridge's own topics", name)
		case names[name] != "":
			ps.add(key, "%q is already used by %s", name, names[name])
		default:
			names[name] = key
		}
	}
	for i, v := range c.Vehicles {
		key := fmt.Sprintf("vehicle[%d].vin", i)
		switch {
		case len(v.VIN) != 17:
			ps.add(key, "%q must be 17 characters, got %d", v.VIN, len(v.VIN))
		case !vinPattern.MatchString(v.VIN):
			ps.add(key, "%q may only hold digits and upper-case letters other than I, O and Q", v.VIN)
		case vins[v.VIN] != "":
			ps.add(key, "%q is already listed as %s", v.VIN, vins[v.VIN])
		default:
			vins[v.VIN] = key
		}
		checkName(fmt.Sprintf("vehicle[%d].name", i), v.Name)
	}
	for i, s := range c.Sites {
		key := fmt.Sprintf("site[%d].id", i)
		switch {
		case s.ID <= 0:
			ps.add(key, "must be the energy_site_id, a number greater than 0; got %d", s.ID)
		case ids[s.ID] != "":
			ps.add(key, "%d is already listed as %s", s.ID, ids[s.ID])
		default:
			ids[s.ID] = key
		}
		checkName(fmt.Sprintf("site[%d].name", i), s.Name)
	}
}

// validate parses every field of Schedule as a cron spec, or as a Go
// duration when tagged kind:"duration". It walks the struct so that a
// schedule added later cannot escape the check.
func (s *Schedule) validate(ps *problems) {
	v := reflect.ValueOf(*s)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := "schedule." + tomlName(f)
		if f.Tag.Get("kind") == "count" {
			if n := v.Field(i).Int(); n < 1 || n > 256 {
				ps.add(key, "must be between 1 and 256, got %d", n)
			}
			continue
		}
		spec := v.Field(i).String()
		if f.Tag.Get("kind") == "zone" {
			if _, err := time.LoadLocation(spec); err != nil {
				ps.add(key, "unknown time zone %q (want an IANA name such as \"Europe/Berlin\", or \"\" for the system's)", spec)
			}
			continue
		}
		if f.Tag.Get("kind") == "duration" {
			if d, err := time.ParseDuration(spec); err != nil || d <= 0 {
				ps.add(key, "%q is not a positive Go duration such as \"15m\"", spec)
			}
			continue
		}
		if _, err := cron.ParseStandard(spec); err != nil {
			ps.add(key, "invalid cron spec %q: %v", spec, err)
		}
	}
}

// validateBudget rejects negative money: a negative price would let the
// bridge believe polling earns credit.
func (c *Config) validateBudget(ps *problems) {
	if c.Budget.MonthlyUSD < 0 {
		ps.add("budget.monthly_usd", "must be 0 or more, got %g", c.Budget.MonthlyUSD)
	}
	for _, p := range []struct {
		key string
		usd float64
	}{{"prices.data", c.Prices.Data}, {"prices.command", c.Prices.Command}, {"prices.wake", c.Prices.Wake},
		{"prices.streaming", c.Prices.Streaming}, {"prices.connectivity", c.Prices.Connectivity},
		{"prices.energy_data", c.Prices.EnergyData}} {
		if p.usd < 0 {
			ps.add(p.key, "must be 0 or more, got %g", p.usd)
		}
	}
}

func validateEntities(ps *problems, e Entities) {
	for i, k := range e.Disable {
		if !snakeCase.MatchString(k) {
			ps.add(fmt.Sprintf("entities.disable[%d]", i), "%q is not an entity key (keys are snake_case, such as charge_limit)", k)
		}
	}
	keys := make([]string, 0, len(e.Names))
	for k := range e.Names {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !snakeCase.MatchString(k) {
			ps.add(joinKey("entities.names", k), "%q is not an entity key (keys are snake_case, such as charge_limit)", k)
		}
	}
}

// oneOf reports a value outside the allowed list, naming the list.
func oneOf(ps *problems, key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		ps.add(key, "%q must be one of %s", value, strings.Join(allowed, ", "))
	}
}

// CommandGroups are the names [commands] allow and deny accept.
var CommandGroups = []string{"charging", "climate", "lock", "unlock", "sentry", "trunk", "windows",
	"horn_lights", "wake", "remote_start", "energy"}

func (c *Commands) validate(ps *problems) {
	for name, list := range map[string][]string{"commands.allow": c.Allow, "commands.deny": c.Deny} {
		for i, g := range list {
			if !slices.Contains(CommandGroups, g) {
				ps.add(fmt.Sprintf("%s[%d]", name, i), "unknown command group %q (known: %s)", g, strings.Join(CommandGroups, ", "))
			}
		}
	}
	if c.RateLimitPerMinute < 1 {
		ps.add("commands.rate_limit_per_minute", "must be at least 1, got %d", c.RateLimitPerMinute)
	}
	if d, err := time.ParseDuration(c.WakeTimeout); err != nil || d <= 0 {
		ps.add("commands.wake_timeout", "%q is not a positive Go duration such as \"60s\"", c.WakeTimeout)
	}
	validateMaxAge(ps, "commands.max_age", c.MaxAge)
	groups := slices.Sorted(maps.Keys(c.MaxAgeByGroup))
	for _, g := range groups {
		key := "commands.max_age_by_group." + g
		if !slices.Contains(CommandGroups, g) {
			ps.add(key, "unknown command group %q (known: %s)", g, strings.Join(CommandGroups, ", "))
			continue
		}
		validateMaxAge(ps, key, c.MaxAgeByGroup[g])
	}
}

// MaxCommandAge is the longest max_age accepted: a command that may start
// an hour after it was sent is no longer the sender's wish of now.
const MaxCommandAge = time.Hour

// validateMaxAge checks one command age limit.
func validateMaxAge(ps *problems, key, v string) {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil || d <= 0:
		ps.add(key, "%q is not a positive Go duration such as \"30s\"", v)
	case d > MaxCommandAge:
		ps.add(key, "%q is longer than %s: a command that late is no longer what its sender meant", v, MaxCommandAge)
	}
}

// brokerBridgeUser is the embedded broker's login of the bridge itself
// (cmd makes its password per run); no configured user may take it.
const brokerBridgeUser = "tesla2mqtt-bridge"

// BrokerBridgeUser returns the username the bridge logs in to the embedded
// broker with.
func BrokerBridgeUser() string { return brokerBridgeUser }

// MinBrokerPacketSize is the least broker.max_packet_size: below 64 KiB
// the bridge's own larger messages (bridge/info with many devices) would
// be refused and the bridge disconnected.
const MinBrokerPacketSize = 64 << 10

// MaxMQTTPacketSize is the largest packet MQTT can express (256 MiB).
const MaxMQTTPacketSize = 268435455

// validateBroker checks [broker]: addresses, TLS files and users with
// bcrypt hashes.
func (c *Config) validateBroker(ps *problems) {
	b := c.Broker
	validateHostPort(ps, "broker.addr", b.Addr)
	if b.TLSAddr != "" {
		validateHostPort(ps, "broker.tls_addr", b.TLSAddr)
		if b.TLSCertFile == "" || b.TLSKeyFile == "" {
			ps.add("broker.tls_addr", "needs broker.tls_cert_file and broker.tls_key_file (PEM)")
		}
	} else if b.TLSCertFile != "" || b.TLSKeyFile != "" {
		ps.add("broker.tls_addr", "is empty, so broker.tls_cert_file and broker.tls_key_file are not used; set tls_addr such as \":8883\"")
	}
	// The bridge's own messages must fit: discovery configs and device
	// state are a few KiB, bridge/info grows with the number of devices.
	if b.MaxPacketSize < MinBrokerPacketSize || b.MaxPacketSize > MaxMQTTPacketSize {
		ps.add("broker.max_packet_size", "must be from %d to %d bytes (MQTT's limit), got %d", MinBrokerPacketSize, MaxMQTTPacketSize, b.MaxPacketSize)
	}
	if b.MaxRetainedSize < 1 || b.MaxRetainedSize > b.MaxPacketSize {
		ps.add("broker.max_retained_size", "must be from 1 to broker.max_packet_size (%d) bytes, got %d", b.MaxPacketSize, b.MaxRetainedSize)
	}
	seen := map[string]bool{}
	for i, u := range b.Users {
		key := fmt.Sprintf("broker.users[%d]", i)
		switch {
		case u.Username == "":
			ps.add(key+".username", "must not be empty")
		case u.Username == brokerBridgeUser:
			ps.add(key+".username", "%q is the bridge's own login; choose another name", u.Username)
		case seen[u.Username]:
			ps.add(key+".username", "%q is listed twice", u.Username)
		}
		seen[u.Username] = true
		if !isBcryptHash(u.PasswordHash) {
			ps.add(key+".password_hash", "must be a bcrypt hash ($2b$…, 60 characters); make one with 'tesla2mqtt hash-password'")
		}
	}
	// An open broker beyond loopback is refused when it starts (mqtt/broker),
	// with the same remedy; an address alone does not tell it here.
}

// isBcryptHash checks the shape of a bcrypt hash without importing bcrypt
// (config depends on the standard library, toml and cron only).
func isBcryptHash(h string) bool {
	return len(h) == 60 && (strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")) && h[6] == '$'
}
