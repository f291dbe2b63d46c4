package config

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const examplePath = "../config.example.toml"

func TestExampleLoads(t *testing.T) {
	cfg, err := LoadWith(examplePath, noEnv)
	if err != nil {
		t.Fatalf("%s has problems:\n%v", examplePath, err)
	}
	// The example shows the defaults, so it must not contradict Default().
	if !reflect.DeepEqual(*cfg, Default()) {
		t.Errorf("%s differs from Default():\n got %+v\nwant %+v", examplePath, *cfg, Default())
	}
}

var (
	// exampleTable matches "[tesla]", "[[vehicle]]" and their commented forms.
	exampleTable = regexp.MustCompile(`^\s*(?:#\s*)*\[{1,2}([A-Za-z0-9_.]+)\]{1,2}\s*$`)
	// exampleKey matches "key =" and "# key =" (also "# # key =" inside a
	// commented-out block).
	exampleKey = regexp.MustCompile(`^\s*(?:#\s*)*([A-Za-z0-9_]+)\s*=`)
)

// TestExampleDocumentsEveryKey fails when a key is added to the schema but
// not to config.example.toml, so the example cannot fall behind. Keys are
// matched within their table: client_id under [mqtt] does not count for
// [tesla].
func TestExampleDocumentsEveryKey(t *testing.T) {
	f, err := os.Open(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := map[string]bool{}
	table := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := exampleTable.FindStringSubmatch(sc.Text()); m != nil {
			table = m[1]
			found[table] = true
		} else if m := exampleKey.FindStringSubmatch(sc.Text()); m != nil {
			found[joinKey(table, m[1])] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		if !found[key] {
			t.Errorf("%s does not document %q", examplePath, key)
		}
	}
}

// schemaKeys lists every key path of struct type t: tables and leaf keys.
// Maps are leaves: their keys are the user's own.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		key := joinKey(prefix, tomlName(f))
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		keys = append(keys, key)
		if ft.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(ft, key)...)
		}
	}
	return keys
}

// The commented-out [[vehicle]] and [[site]] blocks must be valid once
// uncommented, since users copy them.
func TestExampleBlocksValidUncommented(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inBlock := false
	for _, line := range strings.Split(string(data), "\n") {
		if line == "# [[vehicle]]" || line == "# [[site]]" {
			inBlock = true
		}
		if strings.TrimSpace(line) == "" {
			inBlock = false
		}
		if inBlock {
			line = strings.TrimPrefix(line, "# ")
		}
		out = append(out, line)
	}
	doc := strings.Join(out, "\n")
	cfg, err := LoadWith(writeConfig(t, doc), noEnv)
	if err != nil {
		t.Fatalf("uncommented example has problems:\n%v", err)
	}
	if len(cfg.Vehicles) != 1 || len(cfg.Sites) != 1 {
		t.Errorf("uncommented example has %d vehicles and %d sites, want 1 and 1", len(cfg.Vehicles), len(cfg.Sites))
	}
}

// The key check must notice a missing key, or it proves nothing.
func TestExampleCheckNoticesMissingKey(t *testing.T) {
	found := map[string]bool{}
	for _, k := range schemaKeys(reflect.TypeFor[Config](), "") {
		found[k] = true
	}
	for _, k := range []string{"state_dir", "tesla.client_id", "mqtt.client_id", "vehicle.vin", "site.name", "schedule.full_republish", "entities.names", "log.format"} {
		if !found[k] {
			t.Errorf("schemaKeys misses %q", k)
		}
	}
	if exampleKey.FindString("#   names = {}") == "" || exampleTable.FindString("# [[vehicle]]") == "" {
		t.Error("commented keys and tables are not recognised")
	}
	if exampleKey.FindString("# Default: \"30s\". Example = x") != "" {
		t.Error("prose taken for a key")
	}
}
