package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestValidateRules changes one thing in Default() per case and expects
// exactly the listed problems (key and a part of the message), or none.
func TestValidateRules(t *testing.T) {
	const vin1, vin2 = "5YJ3E1EA7KF000001", "5YJ3E1EA7KF000002"
	type want struct{ key, msg string }
	tests := []struct {
		name string
		edit func(c *Config)
		want []want
	}{
		{"state_dir empty", func(c *Config) { c.StateDir = "" }, []want{{"state_dir", "must not be empty"}}},
		{"units", func(c *Config) { c.Units = "si" }, []want{{"units", "native, metric, imperial"}}},
		{"units metric", func(c *Config) { c.Units = "metric" }, nil},
		{"region", func(c *Config) { c.Tesla.Region = "us" }, []want{{"tesla.region", `"us" must be one of auto, na, eu, cn`}}},
		{"region cn", func(c *Config) { c.Tesla.Region = "cn" }, nil},
		{"unknown scope", func(c *Config) { c.Tesla.Scopes = append(c.Tesla.Scopes, "email") },
			[]want{{"tesla.scopes[9]", `unknown scope "email"`}}},
		{"no offline_access", func(c *Config) { c.Tesla.Scopes = []string{"openid", "user_data"} },
			[]want{{"tesla.scopes", `"offline_access": without it Tesla issues no refresh token`}}},
		{"no scopes", func(c *Config) { c.Tesla.Scopes = nil },
			[]want{{"tesla.scopes", `"openid"`}, {"tesla.scopes", `"offline_access"`}}},
		{"minimal scopes", func(c *Config) { c.Tesla.Scopes = []string{"offline_access", "openid"} }, nil},
		{"redirect relative", func(c *Config) { c.Tesla.RedirectURI = "/callback" },
			[]want{{"tesla.redirect_uri", "absolute http:// or https:// URL"}}},
		{"redirect empty", func(c *Config) { c.Tesla.RedirectURI = "" }, []want{{"tesla.redirect_uri", "absolute"}}},
		{"redirect https", func(c *Config) { c.Tesla.RedirectURI = "https://x.example/cb" }, nil},
		{"api base ftp", func(c *Config) { c.Tesla.APIBaseURL = "ftp://x" }, []want{{"tesla.api_base_url", "absolute"}}},
		{"api base ok", func(c *Config) { c.Tesla.APIBaseURL = "http://127.0.0.1:4443" }, nil},
		{"auth base no host", func(c *Config) { c.Tesla.AuthBaseURL = "https://" }, []want{{"tesla.auth_base_url", "absolute"}}},
		{"timeout bad", func(c *Config) { c.Tesla.Timeout = "30" }, []want{{"tesla.timeout", "not a Go duration"}}},
		{"timeout zero", func(c *Config) { c.Tesla.Timeout = "0s" }, []want{{"tesla.timeout", "greater than 0"}}},
		{"timeout negative", func(c *Config) { c.Tesla.Timeout = "-1s" }, []want{{"tesla.timeout", "greater than 0"}}},
		{"mqtt url scheme", func(c *Config) { c.MQTT.URL = "http://h:1883" }, []want{{"mqtt.url", "scheme"}}},
		{"mqtt url no host", func(c *Config) { c.MQTT.URL = "tcp:///x" }, []want{{"mqtt.url", "no host"}}},
		{"mqtt url no scheme", func(c *Config) { c.MQTT.URL = "localhost:1883" }, []want{{"mqtt.url", "scheme"}}},
		{"mqtt url bad", func(c *Config) { c.MQTT.URL = "tcp://h:port" }, []want{{"mqtt.url", "not a URL"}}},
		{"mqtt url ok", func(c *Config) { c.MQTT.URL = "wss://broker.example:443/mqtt" }, nil},
		{"base topic empty", func(c *Config) { c.MQTT.BaseTopic = "" }, []want{{"mqtt.base_topic", "must not be empty"}}},
		{"base topic plus", func(c *Config) { c.MQTT.BaseTopic = "a/+" }, []want{{"mqtt.base_topic", "wildcards"}}},
		{"base topic hash", func(c *Config) { c.MQTT.BaseTopic = "a#" }, []want{{"mqtt.base_topic", "wildcards"}}},
		{"base topic leading slash", func(c *Config) { c.MQTT.BaseTopic = "/a" }, []want{{"mqtt.base_topic", "start or end"}}},
		{"prefix trailing slash", func(c *Config) { c.MQTT.DiscoveryPrefix = "ha/" }, []want{{"mqtt.discovery_prefix", "start or end"}}},
		{"prefix empty level", func(c *Config) { c.MQTT.DiscoveryPrefix = "a//b" }, []want{{"mqtt.discovery_prefix", "empty level"}}},
		{"topic levels ok", func(c *Config) { c.MQTT.BaseTopic = "home/tesla" }, nil},
		{"broker no port", func(c *Config) { c.Broker.Addr = "localhost" }, []want{{"broker.addr", "not host:port"}}},
		{"broker port range", func(c *Config) { c.Broker.Addr = ":65536" }, []want{{"broker.addr", "0 to 65535"}}},
		{"broker port name", func(c *Config) { c.Broker.Addr = ":mqtt" }, []want{{"broker.addr", "0 to 65535"}}},
		{"broker any port", func(c *Config) { c.Broker.Addr = ":0" }, nil},
		{"broker ipv6", func(c *Config) { c.Broker.Addr = "[::1]:1883" }, nil},
		{"http password not a hash", func(c *Config) { c.HTTP.PasswordHash = "hunter2" },
			[]want{{"http.password_hash", "tesla2mqtt hash-password"}}},
		{"http password hash", func(c *Config) {
			c.HTTP.Addr, c.HTTP.PasswordHash = "0.0.0.0:8088", "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
		}, nil},
		{"http wildcard without password", func(c *Config) { c.HTTP.Addr = "0.0.0.0:8088" }, nil},
		{"vin short", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1}, {VIN: "5YJ3"}} },
			[]want{{"vehicle[1].vin", "must be 17 characters, got 4"}}},
		{"vin lower case", func(c *Config) { c.Vehicles = []Vehicle{{VIN: strings.ToLower(vin1)}} },
			[]want{{"vehicle[0].vin", "upper-case"}}},
		{"vin with O", func(c *Config) { c.Vehicles = []Vehicle{{VIN: "5YJ3E1EA7KF00000O"}} },
			[]want{{"vehicle[0].vin", "other than I, O and Q"}}},
		{"vin duplicate", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1}, {VIN: vin2}, {VIN: vin1}} },
			[]want{{"vehicle[2].vin", "already listed as vehicle[0].vin"}}},
		{"vehicle name bad", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1, Name: "my car"}} },
			[]want{{"vehicle[0].name", "letters, digits"}}},
		{"vehicle name slash", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1, Name: "a/b"}} },
			[]want{{"vehicle[0].name", "letters, digits"}}},
		{"vehicle name reserved", func(c *Config) { c.Vehicles = []Vehicle{{VIN: vin1, Name: "bridge"}} },
			[]want{{"vehicle[0].name", "reserved"}}},
		{"names unique across cars and sites", func(c *Config) {
			c.Vehicles = []Vehicle{{VIN: vin1, Name: "home"}}
			c.Sites = []Site{{ID: 1, Name: "home"}}
		}, []want{{"site[0].name", `"home" is already used by vehicle[0].name`}}},
		{"names ok", func(c *Config) {
			c.Vehicles = []Vehicle{{VIN: vin1, Name: "Model_3-a"}, {VIN: vin2}}
			c.Sites = []Site{{ID: 1, Name: "home"}, {ID: 2}}
		}, nil},
		{"site id zero", func(c *Config) { c.Sites = []Site{{Name: "x"}} }, []want{{"site[0].id", "greater than 0"}}},
		{"site id duplicate", func(c *Config) { c.Sites = []Site{{ID: 7}, {ID: 7}} },
			[]want{{"site[1].id", "7 is already listed as site[0].id"}}},
		{"site name bad", func(c *Config) { c.Sites = []Site{{ID: 7, Name: "é"}} }, []want{{"site[0].name", "letters"}}},
		{"cron bad", func(c *Config) { c.Schedule.VehicleDataIdle = "* * *" },
			[]want{{"schedule.vehicle_data_idle", `invalid cron spec "* * *": expected exactly 5 fields`}}},
		{"cron empty", func(c *Config) { c.Schedule.FullRepublish = "" }, []want{{"schedule.full_republish", "invalid cron spec"}}},
		{"time zone unknown", func(c *Config) { c.Schedule.TimeZone = "Mars/Olympus_Mons" }, []want{{"schedule.time_zone", `unknown time zone "Mars/Olympus_Mons"`}}},
		{"cron five fields", func(c *Config) { c.Schedule.SiteInfo = "*/5 * * * *" }, nil},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, []want{{"log.level", "trace, debug, info, warn, error"}}},
		{"log format", func(c *Config) { c.Log.Format = "text" }, []want{{"log.format", "auto, console, json"}}},
		{"disable not snake", func(c *Config) { c.Entities.Disable = []string{"charge_limit", "ChargeLimit", "a__b"} },
			[]want{{"entities.disable[1]", "snake_case"}, {"entities.disable[2]", "snake_case"}}},
		{"names key not snake", func(c *Config) { c.Entities.Names = map[string]string{"charge limit": "x", "ok_key": "y"} },
			[]want{{`entities.names."charge limit"`, "snake_case"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			ps := Problems(c.Validate())
			if len(ps) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tt.want), &Error{Problems: ps})
			}
			for i, w := range tt.want {
				if ps[i].Key != w.key || !strings.Contains(ps[i].Message, w.msg) {
					t.Errorf("problem %d = %q, want key %q and a message with %q", i, ps[i], w.key, w.msg)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.StateDir = ""
	c.Tesla.Region = "mars"
	c.MQTT.BaseTopic = "#"
	c.Vehicles = []Vehicle{{VIN: "x"}}
	c.Schedule.Products = "@daily-ish"
	c.Log.Format = "xml"
	want := []string{"state_dir", "tesla.region", "mqtt.base_topic", "vehicle[0].vin", "schedule.products", "log.format"}
	if got := problemKeys(c.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

// Every field of Schedule is checked, including ones added later.
func TestValidateEverySchedule(t *testing.T) {
	c := Default()
	v := reflect.ValueOf(&c.Schedule).Elem()
	for i := range v.NumField() {
		if v.Field(i).Kind() == reflect.Int {
			v.Field(i).SetInt(0)
			continue
		}
		v.Field(i).SetString("bogus")
	}
	if got, want := len(Problems(c.Validate())), v.NumField(); got != want {
		t.Errorf("%d problems, want one per schedule (%d)", got, want)
	}
}
