package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces DESIGN.md's import rules mechanically: fleet knows
// nothing of MQTT, mqtt nothing of Tesla, config nothing of the project.
func TestLayering(t *testing.T) {
	const mod = "github.com/tesla2mqtt/tesla2mqtt/"
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"./fleet/...", []string{mod + "mqtt", mod + "bridge", mod + "config", "github.com/eclipse/paho.mqtt.golang", "github.com/mochi-mqtt/"}},
		{"./mqtt/...", []string{mod + "fleet", mod + "bridge", mod + "config", "github.com/teslamotors/", "golang.org/x/oauth2"}},
		{"./mqtt/hass", []string{mod, "github.com/"}},
		{"./config", []string{mod}},
		{"./bridge/...", []string{mod + "config", mod + "mqtt/broker", mod + "cmd", "github.com/mochi-mqtt/"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../../"+strings.TrimPrefix(r.pkg, "./")).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", r.pkg, err, out)
		}
		own := map[string]bool{}
		selfOut, _ := exec.Command("go", "list", "-f", "{{.ImportPath}}", "../../"+strings.TrimPrefix(r.pkg, "./")).Output()
		for _, p := range strings.Fields(string(selfOut)) {
			own[p] = true
		}
		for _, dep := range strings.Fields(string(out)) {
			if own[dep] {
				continue
			}
			for _, f := range r.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s imports %s, which DESIGN.md forbids", r.pkg, dep)
				}
			}
		}
	}
}
