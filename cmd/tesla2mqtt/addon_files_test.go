package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tesla2mqtt/tesla2mqtt/config"
)

const addonDir = "../../addon/tesla2mqtt/"

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The add-on's files agree with each other and with the daemon: every
// option of the schema is one `tesla2mqtt addon` reads (and no other), each
// has a translation, the defaults start the bridge, the four architectures
// have a base image, and Ingress points at the status page's port.
func TestAddonFilesAgree(t *testing.T) {
	var cfg struct {
		Slug        string         `yaml:"slug"`
		Version     string         `yaml:"version"`
		Arch        []string       `yaml:"arch"`
		Ingress     bool           `yaml:"ingress"`
		IngressPort int            `yaml:"ingress_port"`
		Services    []string       `yaml:"services"`
		Options     map[string]any `yaml:"options"`
		Schema      map[string]any `yaml:"schema"`
		Ports       map[string]any `yaml:"ports"`
	}
	readYAML(t, addonDir+"config.yaml", &cfg)
	var build struct {
		BuildFrom map[string]string `yaml:"build_from"`
	}
	readYAML(t, addonDir+"build.yaml", &build)
	var tr struct {
		Configuration map[string]struct {
			Name        string `yaml:"name"`
			Description string `yaml:"description"`
		} `yaml:"configuration"`
	}
	readYAML(t, addonDir+"translations/en.yaml", &tr)

	// The JSON names the daemon decodes.
	var names []string
	ty := reflect.TypeFor[config.AddonOptions]()
	for i := range ty.NumField() {
		names = append(names, strings.Split(ty.Field(i).Tag.Get("json"), ",")[0])
	}
	sort.Strings(names)
	if got := sortedKeys(cfg.Schema); !slices.Equal(got, names) {
		t.Errorf("config.yaml schema has %v;\nconfig.AddonOptions reads %v", got, names)
	}
	if got := sortedKeys(tr.Configuration); !slices.Equal(got, names) {
		t.Errorf("translations/en.yaml has %v;\nwant one entry per option %v", got, names)
	}
	for k, v := range tr.Configuration {
		if v.Name == "" || v.Description == "" {
			t.Errorf("translation of %s lacks a name or description", k)
		}
	}
	for k := range cfg.Options {
		if _, ok := cfg.Schema[k]; !ok {
			t.Errorf("option %s has a default but no schema", k)
		}
	}
	// Selects of the schema offer exactly what the config accepts.
	lists := map[string][]string{"schedules": config.SchedulePresets, "units": {"native", "metric", "imperial"},
		"region": {"auto", "na", "eu", "cn"}, "log_level": {"trace", "debug", "info", "warn", "error"}}
	for k, want := range lists {
		if got := cfg.Schema[k]; got != "list("+strings.Join(want, "|")+")" {
			t.Errorf("schema %s = %v, want list(%s)", k, got, strings.Join(want, "|"))
		}
	}

	// The defaults, as the Supervisor writes them to options.json, make a
	// config the bridge starts with.
	raw, _ := json.Marshal(cfg.Options)
	opts, err := config.ParseAddonOptions(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("default options: %v", err)
	}
	if _, err := config.FromAddonOptions(opts, "/data"); err != nil {
		t.Errorf("default options do not make a valid config: %v", err)
	}

	wantArch := []string{"aarch64", "amd64", "armhf", "armv7"}
	arch := slices.Clone(cfg.Arch)
	sort.Strings(arch)
	if !slices.Equal(arch, wantArch) || !slices.Equal(sortedKeys(build.BuildFrom), wantArch) {
		t.Errorf("arch %v, build_from %v; want %v in both", cfg.Arch, sortedKeys(build.BuildFrom), wantArch)
	}
	for a, img := range build.BuildFrom {
		if !strings.Contains(img, "/"+a+"-base:") {
			t.Errorf("build_from %s = %s: not the %s base image", a, img, a)
		}
	}
	_, port, _ := net.SplitHostPort(config.AddonHTTPAddr)
	if !cfg.Ingress || strconv.Itoa(cfg.IngressPort) != port {
		t.Errorf("ingress %v on port %d; the add-on's status page listens on %s", cfg.Ingress, cfg.IngressPort, config.AddonHTTPAddr)
	}
	if len(cfg.Ports) != 0 {
		t.Errorf("config.yaml publishes host ports %v: the status page can start a Tesla login and must stay behind Ingress", cfg.Ports)
	}
	if !slices.Contains(cfg.Services, "mqtt:want") && !slices.Contains(cfg.Services, "mqtt:need") {
		t.Errorf("services %v: without mqtt the Supervisor refuses GET /services/mqtt", cfg.Services)
	}
	if cfg.Slug != "tesla2mqtt" || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(cfg.Version) {
		t.Errorf("slug %q version %q", cfg.Slug, cfg.Version)
	}

	// The Dockerfile maps every architecture to a release archive and runs
	// the add-on command.
	df, err := os.ReadFile(addonDir + "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"amd64) arch=amd64", "aarch64) arch=arm64", "armv7) arch=armv7", "armhf) arch=armv6",
		"sha256sum -c", `ENTRYPOINT ["/usr/bin/tesla2mqtt", "addon"]`} {
		if !strings.Contains(string(df), m) {
			t.Errorf("add-on Dockerfile lacks %q", m)
		}
	}
	for _, f := range []string{"DOCS.md", "README.md", "icon.png", "logo.png", "../../repository.yaml"} {
		if fi, err := os.Stat(addonDir + f); err != nil || fi.Size() == 0 {
			t.Errorf("add-on file %s: %v", f, err)
		}
	}
}
