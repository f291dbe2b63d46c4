package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces DESIGN.md's import rules mechanically: fleet knows
// nothing of MQTT, mqtt nothing of Tesla, config nothing of the project;
// and inside bridge the sub-packages depend only downward: entity (pure
// data) and the leaves that know no other project package (lanes,
// coalesce, sharding) at the bottom, then schedule, economy, telemetry,
// command, contract, discovery, the core, and the hooks and readers
// (metrics, teslamate, web) on top.
func TestLayering(t *testing.T) {
	const mod = "github.com/tesla2mqtt/tesla2mqtt/"
	const (
		bridge    = mod + "bridge"
		entity    = mod + "bridge/entity"
		economy   = mod + "bridge/economy"
		schedule  = mod + "bridge/schedule"
		command   = mod + "bridge/command"
		telemetry = mod + "bridge/telemetry"
		device    = mod + "bridge/device"
		lanes     = mod + "bridge/lanes"
		contract  = mod + "bridge/contract"
		readgate  = mod + "bridge/device/readgate"
		memory    = mod + "bridge/device/memory"
		route     = mod + "bridge/device/route"
		pace      = mod + "bridge/device/pace"
		discovery = mod + "bridge/discovery"
	)
	// plugins sit on the core: the core never imports them.
	plugins := []string{mod + "bridge/metrics", mod + "bridge/teslamate", mod + "bridge/web"}
	rules := []struct {
		pkg string
		// direct checks the package's own imports instead of everything it
		// depends on (entity may use fleet's types, but no I/O of its own).
		direct    bool
		forbidden []string
		// allowed are exceptions under a forbidden path.
		allowed []string
	}{
		{pkg: "./fleet/...", forbidden: []string{mod + "mqtt", mod + "bridge", mod + "config", "github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/"}},
		{pkg: "./mqtt/...", forbidden: []string{mod + "fleet", mod + "bridge", mod + "config", "github.com/teslamotors/", "golang.org/x/oauth2"}},
		{pkg: "./mqtt/hass", forbidden: []string{mod, "github.com/"}},
		{pkg: "./config", forbidden: []string{mod}},
		{pkg: "./bridge/...", forbidden: []string{mod + "config", mod + "mqtt/broker", mod + "cmd", "github.com/mochi-mqtt/"}},
		// entity is data: no other bridge package, no MQTT but the discovery
		// types, and no I/O, logging or clock of its own.
		{pkg: "./bridge/entity", forbidden: []string{bridge, mod + "mqtt", "github.com/eclipse/", "github.com/prometheus/"},
			allowed: []string{entity, mod + "mqtt/hass"}},
		{pkg: "./bridge/entity", direct: true, forbidden: []string{"net", "os", "io", "github.com/rs/zerolog", mod + "internal"}},
		{pkg: "./bridge/schedule", forbidden: []string{bridge, mod + "fleet", mod + "mqtt"}, allowed: []string{schedule}},
		{pkg: "./bridge/economy", forbidden: []string{bridge, mod + "mqtt"}, allowed: []string{economy, entity, mod + "mqtt/hass"}},
		// The leaves split out of the core and of device know nothing of
		// the project; contract (the payloads, status snapshot and hooks)
		// only the data and results it shows.
		{pkg: "./bridge/lanes", forbidden: []string{mod}},
		{pkg: "./bridge/coalesce", forbidden: []string{mod}},
		{pkg: "./bridge/sharding", forbidden: []string{mod}},
		{pkg: "./bridge/contract", forbidden: []string{bridge, mod + "mqtt"}, allowed: []string{contract, entity, economy, command, mod + "mqtt/hass"}},
		// discovery builds and remembers Home Assistant's configs from the
		// rows and topics the core hands it; it sends through the core.
		{pkg: "./bridge/discovery", forbidden: []string{bridge, mod + "mqtt"}, allowed: []string{discovery, entity, economy, mod + "mqtt/hass"}},
		{pkg: "./bridge/telemetry", forbidden: []string{bridge}, allowed: []string{telemetry, entity}},
		{pkg: "./bridge/command", forbidden: []string{bridge, mod + "mqtt"}, allowed: []string{command, entity, economy, mod + "mqtt/hass"}},
		// device reads and keeps the devices; it publishes nothing itself
		// (the telemetry ingest it starts subscribes through its Host's client).
		{pkg: "./bridge/device", forbidden: []string{bridge}, allowed: []string{device, entity, economy, command, schedule, telemetry, lanes}},
		// device's own leaves sit below it: they never import device.
		{pkg: "./bridge/device/readgate", forbidden: []string{bridge}, allowed: []string{readgate, economy, entity, mod + "mqtt/hass"}},
		{pkg: "./bridge/device/memory", forbidden: []string{bridge}, allowed: []string{memory, entity, mod + "mqtt/hass"}},
		{pkg: "./bridge/device/route", forbidden: []string{bridge}, allowed: []string{route, command, entity, economy, mod + "mqtt/hass"}},
		{pkg: "./bridge/device/pace", forbidden: []string{bridge}, allowed: []string{pace, economy, entity, mod + "mqtt/hass"}},
		{pkg: "./bridge/device", direct: true, forbidden: []string{mod + "mqtt"}, allowed: []string{mod + "mqtt/hass"}},
		{pkg: "./bridge", forbidden: plugins},
	}
	for _, r := range rules {
		format := "{{.ImportPath}}"
		args := []string{"list", "-deps", "-f", format}
		if r.direct {
			args = []string{"list", "-f", `{{join .Imports "\n"}}`}
		}
		out, err := exec.Command("go", append(args, "../../"+strings.TrimPrefix(r.pkg, "./"))...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", r.pkg, err, out)
		}
		own := map[string]bool{}
		selfOut, _ := exec.Command("go", "list", "-f", "{{.ImportPath}}", "../../"+strings.TrimPrefix(r.pkg, "./")).Output()
		for _, p := range strings.Fields(string(selfOut)) {
			own[p] = true
		}
		for _, dep := range strings.Fields(string(out)) {
			if own[dep] || under(dep, r.allowed) {
				continue
			}
			if under(dep, r.forbidden) {
				t.Errorf("%s imports %s, which DESIGN.md forbids", r.pkg, dep)
			}
		}
	}
}

// under reports whether path is one of roots or lies below one; a root
// ending in "/" is a plain prefix.
func under(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}
