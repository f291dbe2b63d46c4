// Package config is the TOML schema of tesla2mqtt: defaults in one place,
// strict decoding (unknown keys are errors), secrets from the environment or
// *_file keys, and Validate, which reports every problem at once with its key
// path. It imports no other package of the project: cmd maps Config onto each
// package's own Options.
package config

// Config is the whole configuration file.
type Config struct {
	// StateDir holds the token, budget counters and session cache.
	StateDir string `toml:"state_dir"`
	// Units: "native" (the API's own units, each with its HA unit), "metric" or "imperial".
	Units string `toml:"units"`

	Tesla    Tesla     `toml:"tesla"`
	MQTT     MQTT      `toml:"mqtt"`
	Broker   Broker    `toml:"broker"`
	Vehicles []Vehicle `toml:"vehicle"`
	Sites    []Site    `toml:"site"`
	Schedule Schedule  `toml:"schedule"`
	Commands Commands  `toml:"commands"`
	Budget   Budget    `toml:"budget"`
	Prices   Prices    `toml:"prices"`
	Entities Entities  `toml:"entities"`
	Log      Log       `toml:"log"`
	HTTP     HTTP      `toml:"http"`
	// Telemetry is Fleet Telemetry through Tesla's fleet-telemetry server.
	Telemetry Telemetry `toml:"telemetry"`
	// Shard splits one account's devices between several instances.
	Shard Shard `toml:"shard"`
}

// Shard is the [shard] table: this instance owns the devices whose stable
// hash (FNV-1a of the VIN or site id) modulo Count is Index; Count 1 (the
// default) owns them all. README "Several instances".
type Shard struct {
	Index int `toml:"index"`
	Count int `toml:"count"`
	// TokenDir is where the shared token file lives ("": state_dir).
	// Refresh tokens are single-use, so instance 0 alone refreshes and
	// writes it; the others read it. Every other file in state_dir
	// (budget, device memory, sessions) stays each instance's own.
	TokenDir string `toml:"token_dir"`
}

// TokenDir is the folder of the token file: [shard] token_dir, else
// state_dir.
func (c *Config) TokenDir() string {
	if c.Shard.TokenDir != "" {
		return c.Shard.TokenDir
	}
	return c.StateDir
}

// Tesla is the [tesla] table: the developer app and the Fleet API hosts.
type Tesla struct {
	ClientID         string   `toml:"client_id"`
	ClientSecret     string   `toml:"client_secret"`
	ClientSecretFile string   `toml:"client_secret_file"`
	Domain           string   `toml:"domain"`
	Region           string   `toml:"region"` // auto, na, eu, cn
	Scopes           []string `toml:"scopes"`
	RedirectURI      string   `toml:"redirect_uri"`
	PrivateKeyFile   string   `toml:"private_key_file"`
	// PublicKeyURL is where doctor fetches the hosted public key. Empty =
	// https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem.
	PublicKeyURL string `toml:"public_key_url"`
	// APIBaseURL and AuthBaseURL override Tesla's hosts (fleetsim, a proxy). Empty = Tesla's.
	APIBaseURL  string `toml:"api_base_url"`
	AuthBaseURL string `toml:"auth_base_url"`
	// Timeout of one Fleet API request, as a Go duration ("30s").
	Timeout string `toml:"timeout"`
	// CommandProxyURL sends every vehicle command as REST to an existing
	// tesla-http-proxy, which signs it, instead of signing in-process.
	CommandProxyURL string `toml:"command_proxy_url"`
	// CommandProxyCAFile is a PEM CA certificate the proxy's certificate chains to.
	CommandProxyCAFile string `toml:"command_proxy_ca_file"`
}

// MQTT is the [mqtt] table: the broker the bridge publishes to.
type MQTT struct {
	// URL of an external broker (tcp://host:1883, ssl://host:8883). Empty = embedded broker.
	URL             string `toml:"url"`
	BaseTopic       string `toml:"base_topic"`
	DiscoveryPrefix string `toml:"discovery_prefix"`
	// Discovery turns Home Assistant discovery on or off.
	Discovery bool `toml:"discovery"`
	// DiscoveryMode is "device" (one config per device, Home Assistant
	// 2024.12 and later) or "entity" (one per entity, for older releases).
	DiscoveryMode string `toml:"discovery_mode"`
	Username      string `toml:"username"`
	Password      string `toml:"password"`
	PasswordFile  string `toml:"password_file"`
	ClientID      string `toml:"client_id"`
	// ClientIDSuffix appends "-<random>" to ClientID on an external broker,
	// so nobody who knows the configured id can kick the bridge off with an
	// MQTT session takeover. The embedded broker refuses such a takeover
	// itself, and keeps the id exact.
	ClientIDSuffix bool `toml:"client_id_suffix"`
	// CAFile, CertFile and KeyFile set up TLS to an external broker: the
	// CAs that sign its certificate and a client certificate (PEM).
	CAFile   string `toml:"ca_file"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// InsecureSkipVerify accepts any broker certificate (setup only).
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// TeslaMateCompat also publishes TeslaMate's scalar topics
	// (<teslamate_prefix>/cars/<n>/<key>) for consumers written for TeslaMate.
	TeslaMateCompat bool   `toml:"teslamate_compat"`
	TeslaMatePrefix string `toml:"teslamate_prefix"`
}

// Broker is the [broker] table: the embedded broker used when mqtt.url is empty.
type Broker struct {
	Addr string `toml:"addr"`
	// Users may log in to the embedded broker; without any it accepts
	// anonymous clients and only listens on loopback.
	Users []BrokerUser `toml:"users"`
	// TLSAddr adds a TLS listener with TLSCertFile and TLSKeyFile (PEM).
	TLSAddr     string `toml:"tls_addr"`
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// MaxPacketSize bounds every MQTT packet, in bytes; a larger one ends
	// the sender's connection.
	MaxPacketSize int `toml:"max_packet_size"`
	// MaxRetainedSize bounds a retained message from any client but the
	// bridge, in bytes; a larger one is refused.
	MaxRetainedSize int `toml:"max_retained_size"`
}

// BrokerUser is one [[broker.users]] entry.
type BrokerUser struct {
	Username string `toml:"username"`
	// PasswordHash is a bcrypt hash from `tesla2mqtt hash-password`.
	PasswordHash string `toml:"password_hash"`
}

// Vehicle is one [[vehicle]] entry: it names a car of the account. Cars that
// are not listed are bridged too, under their VIN.
type Vehicle struct {
	VIN  string `toml:"vin"`
	Name string `toml:"name"`
	// BLE is the [vehicle.ble] table: talking to this car over Bluetooth
	// from this machine while it is in range.
	BLE VehicleBLE `toml:"ble"`
}

// VehicleBLE is one car's [vehicle.ble] table.
type VehicleBLE struct {
	// Enabled turns BLE on for this car (default false).
	Enabled bool `toml:"enabled"`
	// Adapter is the Bluetooth adapter: "hci0", "hci1"…; "" = the first.
	Adapter string `toml:"adapter"`
	// Route: "prefer" (BLE in range, Fleet API otherwise; the default when
	// empty), "only" (never the Fleet API for this car) or "off" (watch the
	// beacon and RSSI, route nothing over BLE).
	Route string `toml:"route"`
}

// DefaultBLERoute is the route of a car whose [vehicle.ble] names none.
const DefaultBLERoute = "prefer"

// Site is one [[site]] entry.
type Site struct {
	ID   int64  `toml:"id"`
	Name string `toml:"name"`
}

// Schedule is the [schedule] table: cron specs (robfig/cron, standard five
// fields or @every/@hourly descriptors).
type Schedule struct {
	// Connectivity: GET /api/1/vehicles for all cars at once; never wakes a car.
	Connectivity string `toml:"connectivity"`
	// VehicleDataDriving, VehicleDataCharging, VehicleDataIdle: vehicle_data for
	// online cars in that condition (someone in a parked car counts as
	// driving: a drive is about to start).
	VehicleDataDriving  string `toml:"vehicle_data_driving"`
	VehicleDataCharging string `toml:"vehicle_data_charging"`
	VehicleDataIdle     string `toml:"vehicle_data_idle"`
	// QuietAfter: a parked car with nothing changing for this long is left
	// alone (no vehicle_data) for SuspendFor, so it can fall asleep. Go
	// durations, not cron specs.
	QuietAfter string `toml:"quiet_after" kind:"duration"`
	SuspendFor string `toml:"suspend_for" kind:"duration"`
	// LiveStatus and SiteInfo: energy site reads.
	LiveStatus string `toml:"live_status"`
	SiteInfo   string `toml:"site_info"`
	// EnergyHistory: calendar_history for the energy totals of each site.
	EnergyHistory string `toml:"energy_history"`
	// FleetStatus: POST /api/1/vehicles/fleet_status for all cars (key pairing, signing).
	FleetStatus string `toml:"fleet_status"`
	// Products: re-reads the account's products to find added and removed devices.
	Products string `toml:"products"`
	// FullRepublish republishes all retained state so a wiped broker recovers.
	FullRepublish string `toml:"full_republish"`
	// Heartbeat: a device whose state did not change is published again
	// after this long anyway, so updated_at (the last read) is at most this
	// old in the retained message.
	Heartbeat string `toml:"heartbeat" kind:"duration"`
	// Concurrency bounds the reads in flight to the Fleet API: a polling
	// round reads its due devices on this many workers, one read per
	// device at a time.
	Concurrency int `toml:"concurrency" kind:"count"`
	// TimeZone is the IANA zone ("Europe/Berlin") that cron specs of a
	// time of day are read in; "" = the process's zone (TZ). A spec may
	// carry its own CRON_TZ= prefix instead.
	TimeZone string `toml:"time_zone" kind:"zone"`
}

// Commands is the [commands] table: what set topics may do.
type Commands struct {
	// Allow, if not empty, lists the only command groups that may run.
	Allow []string `toml:"allow"`
	// Deny lists command groups that never run (e.g. "unlock", "remote_start", "trunk").
	Deny []string `toml:"deny"`
	// RateLimitPerMinute caps commands per car (or site) per minute, so a
	// runaway automation cannot run up the Fleet bill.
	RateLimitPerMinute int `toml:"rate_limit_per_minute"`
	// WakeTimeout bounds waiting for a car to come online after wake_up (Go duration).
	WakeTimeout string `toml:"wake_timeout"`
	// MaxAge is how long after arriving a command may still start, a wake
	// included (Go duration); later it answers expired and is not sent.
	MaxAge string `toml:"max_age"`
	// MaxAgeByGroup overrides MaxAge per command group.
	MaxAgeByGroup map[string]string `toml:"max_age_by_group"`
}

// Budget is the [budget] table: what the Fleet API may cost per month.
type Budget struct {
	// MonthlyUSD is the monthly budget; when the month-end projection
	// exceeds it, polling slows down step by step. Default: Tesla's $10 credit.
	MonthlyUSD float64 `toml:"monthly_usd"`
	// HardCap also refuses commands (and wakes) once the month's spend
	// reaches the budget. Off by default: a command the user asked for runs.
	HardCap bool `toml:"hard_cap"`
}

// Prices is the [prices] table: USD per billable response, by billing
// category (FLEET_API.md §6.1). Connectivity prices the vehicle list and
// state checks, which Tesla does not bill today.
type Prices struct {
	Data         float64 `toml:"data"`
	Command      float64 `toml:"command"`
	Wake         float64 `toml:"wake"`
	Streaming    float64 `toml:"streaming"`
	Connectivity float64 `toml:"connectivity"`
	// EnergyData prices energy-site reads (live_status, site_info,
	// calendar_history), which Tesla has not billed so far.
	EnergyData float64 `toml:"energy_data"`
}

// Entities is the [entities] table: user choices by entity key.
type Entities struct {
	// Disable lists entity keys not to publish or discover.
	Disable []string `toml:"disable"`
	// Names renames entities in Home Assistant: key = "New name".
	Names map[string]string `toml:"names"`
}

// HTTP is the [http] table: the status page, /healthz and /metrics.
type HTTP struct {
	// Addr is host:port to listen on; empty or HTTPOff turns the server off.
	Addr string `toml:"addr"`
	// PasswordHash is a bcrypt hash from `tesla2mqtt hash-password`: the
	// page asks for the password before it starts a Tesla login. Beyond
	// loopback the page offers no login without it (it stays read-only).
	PasswordHash string `toml:"password_hash"`
}

// Log is the [log] table.
type Log struct {
	Level  string `toml:"level"`  // trace, debug, info, warn, error
	Format string `toml:"format"` // auto, console, json
}

// Telemetry is the [telemetry] table: cars stream to the user's own
// fleet-telemetry server, whose MQTT dispatcher publishes to a broker the
// bridge subscribes to; polling of vehicle_data all but stops meanwhile.
type Telemetry struct {
	// Enabled turns the ingest on (run and demo subscribe to the stream).
	Enabled bool `toml:"enabled"`
	// Hostname and Port are the server's public address the cars connect to.
	Hostname string `toml:"hostname"`
	Port     int    `toml:"port"`
	// CAFile is the PEM chain of the server's certificate, sent to the cars.
	CAFile string `toml:"ca_file"`
	// TopicBase is the dispatcher's topic_base.
	TopicBase string `toml:"topic_base"`
	// BrokerURL is the broker the dispatcher publishes to; empty = the bridge's broker.
	BrokerURL string `toml:"broker_url"`
	// Preset paces the signals: eco, balanced or live.
	Preset string `toml:"preset"`
	// Fields override the preset per signal, by Fleet Telemetry field name.
	Fields map[string]TelemetryField `toml:"fields"`
	// Quiet: after this long without a signal a car is polled again.
	Quiet string `toml:"quiet" kind:"duration"`
	// SafetyRead is the cron spec of the one vehicle_data read a streaming car still gets; "" = none.
	SafetyRead string `toml:"safety_read"`
}

// TelemetryField paces one signal in [telemetry.fields].
type TelemetryField struct {
	IntervalSeconds       int      `toml:"interval_seconds"`
	MinimumDelta          *float64 `toml:"minimum_delta"`
	ResendIntervalSeconds int      `toml:"resend_interval_seconds"`
}

// DefaultScopes are requested at login unless the config says otherwise.
var DefaultScopes = []string{
	"openid", "offline_access", "user_data", "vehicle_device_data", "vehicle_location",
	"vehicle_cmds", "vehicle_charging_cmds", "energy_device_data", "energy_cmds",
}

// Default returns the configuration used for every key the file leaves out.
// It is the one place where defaults live.
func Default() Config {
	return Config{
		StateDir: "./state",
		Units:    "native",
		Tesla: Tesla{
			Region:      "auto",
			Scopes:      append([]string(nil), DefaultScopes...),
			RedirectURI: "http://localhost:8099/callback",
			Timeout:     "30s",
		},
		MQTT: MQTT{
			BaseTopic:       "tesla2mqtt",
			DiscoveryPrefix: "homeassistant",
			Discovery:       true,
			DiscoveryMode:   "device",
			ClientID:        "tesla2mqtt",
			ClientIDSuffix:  true,
			TeslaMatePrefix: "teslamate",
		},
		Broker: Broker{Addr: "127.0.0.1:1883", MaxPacketSize: 256 << 10, MaxRetainedSize: 64 << 10},
		Schedule: Schedule{
			Connectivity:        "@every 1m",
			VehicleDataDriving:  "@every 1m",
			VehicleDataCharging: "@every 5m",
			VehicleDataIdle:     "@every 10m",
			QuietAfter:          "15m",
			SuspendFor:          "21m",
			LiveStatus:          "@every 1m",
			SiteInfo:            "@every 1h",
			EnergyHistory:       "@every 15m",
			FleetStatus:         "@every 6h",
			Products:            "@every 6h",
			FullRepublish:       "@every 1h",
			Heartbeat:           "5m",
			Concurrency:         16,
		},
		Commands: Commands{Allow: []string{}, Deny: []string{}, RateLimitPerMinute: 10, WakeTimeout: "60s",
			MaxAge: "30s", MaxAgeByGroup: map[string]string{"unlock": "25s", "trunk": "25s", "windows": "25s"}},
		Budget: Budget{MonthlyUSD: 10},
		Prices: Prices{Data: 0.002, Command: 0.001, Wake: 0.02, Streaming: 1.0 / 150000},
		Log:    Log{Level: "info", Format: "auto"},
		HTTP:   HTTP{Addr: "127.0.0.1:8088"},
		Telemetry: Telemetry{Port: 443, TopicBase: "telemetry", Preset: "balanced", Quiet: "10m",
			SafetyRead: "@every 6h"},
		Shard: Shard{Index: 0, Count: 1},
	}
}

// HTTPOff as [http] addr (or --http-addr) turns the HTTP server off.
const HTTPOff = "off"
