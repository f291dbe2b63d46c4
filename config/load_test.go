package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestLoadDefaultsForMissingKeys(t *testing.T) {
	cfg, err := LoadWith(writeConfig(t, "[mqtt]\nbase_topic = \"car\"\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.MQTT.BaseTopic = "car"
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v\nwant %+v", *cfg, want)
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	cfg, err := LoadWith(writeConfig(t, ""), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cfg, Default()) {
		t.Errorf("got %+v, want Default()", *cfg)
	}
}

// A shorter list in the file replaces the default list; it is not merged.
func TestLoadReplacesLists(t *testing.T) {
	cfg, err := LoadWith(writeConfig(t, "[tesla]\nscopes = [\"openid\", \"offline_access\"]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"openid", "offline_access"}; !reflect.DeepEqual(cfg.Tesla.Scopes, want) {
		t.Errorf("scopes = %v, want %v", cfg.Tesla.Scopes, want)
	}
}

func TestLoadArraysOfTables(t *testing.T) {
	doc := `
[[vehicle]]
vin = "5YJ3E1EA7KF000001"
name = "model3"
[[vehicle]]
vin = "5YJ3E1EA7KF000002"
[[site]]
id = 42
name = "home"
[entities.names]
charge_limit = "Limit"
`
	cfg, err := LoadWith(writeConfig(t, doc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Vehicles) != 2 || cfg.Vehicles[0].Name != "model3" || cfg.Sites[0].ID != 42 ||
		cfg.Entities.Names["charge_limit"] != "Limit" {
		t.Errorf("got %+v", cfg)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	doc := `
stat_dir = "x"
[mqtt]
urll = "tcp://h:1883"
[tesla]
regoin = "eu"
[log.extra]
a = 1
b = 2
[[vehicle]]
vin = "5YJ3E1EA7KF000001"
vni = "typo"
[entities.names]
charge_limit = "free-form map keys are not unknown"
`
	_, err := LoadWith(writeConfig(t, doc), noEnv)
	want := []string{"stat_dir", "mqtt.urll", "tesla.regoin", "log.extra", "vehicle.vni"}
	if got := problemKeys(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %q, want %q\n%v", got, want, err)
	}
	if p := findProblem(t, err, "mqtt.urll"); p.Message != `unknown key "mqtt.urll"` {
		t.Errorf("message = %q", p.Message)
	}
}

// Unknown keys do not hide the other problems of the file.
func TestLoadReportsEverythingAtOnce(t *testing.T) {
	doc := `
units = "furlongs"
[mqtt]
urll = "x"
[[vehicle]]
vin = "short"
[schedule]
products = "every day"
`
	_, err := LoadWith(writeConfig(t, doc), noEnv)
	want := []string{"mqtt.urll", "units", "vehicle[0].vin", "schedule.products"}
	if got := problemKeys(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %q, want %q\n%v", got, want, err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err is %T, want *Error", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(want) {
		t.Errorf("Error() has %d lines, want %d:\n%v", n, len(want), err)
	}
}

func TestLoadCronSpecNamedWithKey(t *testing.T) {
	_, err := LoadWith(writeConfig(t, "[schedule]\nlive_status = \"@every 1x\"\n"), noEnv)
	p := findProblem(t, err, "schedule.live_status")
	if !strings.Contains(p.Message, `"@every 1x"`) || !strings.Contains(p.Message, "unknown unit") {
		t.Errorf("message = %q, want the spec and the parser's reason", p.Message)
	}
}

func TestLoadDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // "key: message" lines
	}{
		{
			name: "wrong type",
			doc:  "[mqtt]\nurl = \"tcp://h:1883\"\n\ndiscovery = \"yes\"\n",
			want: []string{"mqtt.discovery: line 4: expected a boolean, got a string"},
		},
		{
			name: "several wrong types, in array of tables",
			doc:  "[[vehicle]]\nvin = \"5YJ3E1EA7KF000001\"\n[[vehicle]]\nvin = 5\n[tesla]\nscopes = \"openid\"\ntimeout = 30\n",
			want: []string{
				"tesla.scopes: expected an array, got a string",
				"tesla.timeout: expected a string, got an integer",
				"vehicle[1].vin: expected a string, got an integer",
			},
		},
		{
			name: "table instead of array of tables",
			doc:  "[vehicle]\nvin = \"5YJ3E1EA7KF000001\"\n",
			want: []string{"vehicle: line 1: expected an array of tables, got a table"},
		},
		{
			name: "float for integer",
			doc:  "[[site]]\nid = 1.5\n",
			want: []string{"site[0].id: line 2: expected an integer, got a float"},
		},
		{
			name: "map value",
			doc:  "[entities.names]\ncharge_limit = 3\n",
			want: []string{"entities.names.charge_limit: line 2: expected a string, got an integer"},
		},
		{
			name: "syntax",
			doc:  "[mqtt]\ndiscovery = tru\n",
			want: []string{`mqtt.discovery: line 2: expected value but found "tru" instead`},
		},
		{
			name: "out of range",
			doc:  "[[site]]\nid = 99999999999999999999\n",
			want: []string{"site.id: line 2: 99999999999999999999 is out of range for int64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWith(writeConfig(t, tt.doc), noEnv)
			var got []string
			lines := 0
			for _, p := range Problems(err) {
				if len(tt.want) > 1 {
					// BurntSushi names one mismatch, picked in map order, so
					// only one problem has a line, and which one varies.
					if s := lineNumber.ReplaceAllString(p.Message, ""); s != p.Message {
						lines++
						p.Message = s
					}
				}
				got = append(got, p.String())
			}
			if len(tt.want) > 1 && lines != 1 {
				t.Errorf("%d problems have a line number, want 1:\n%v", lines, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

var lineNumber = regexp.MustCompile(`^line \d+: `)

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadWith(filepath.Join(t.TempDir(), "nope.toml"), noEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

// BurntSushi matches keys ignoring case; TOML does not, so neither do we.
func TestLoadKeyCase(t *testing.T) {
	doc := "[MQTT]\nURL = \"tcp://h:1883\"\nDiscovery = false\n[[vehicle]]\nVIN = \"5YJ3E1EA7KF000001\"\n[entities.names]\nCharge_Limit = \"x\"\n"
	_, err := LoadWith(writeConfig(t, doc), noEnv)
	want := []string{"MQTT", "vehicle.VIN", `entities.names.Charge_Limit`}
	if got := problemKeys(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %q, want %q\n%v", got, want, err)
	}
	if p := findProblem(t, err, "MQTT"); p.Message != `write "mqtt", not "MQTT": keys are case-sensitive` {
		t.Errorf("message = %q", p.Message)
	}
}
