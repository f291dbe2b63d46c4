package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExamplesUseDiscoveredEntityIDs checks every entity id in the Home
// Assistant examples against what discovery announces (the golden files
// of the end-to-end test), so a renamed key cannot silently break a
// user's dashboard. The examples name the car "model3" and the site "home".
func TestExamplesUseDiscoveredEntityIDs(t *testing.T) {
	known := map[string]bool{
		// The bridge device's own entities (account status).
		"binary_sensor.tesla2mqtt_bridge_login_required": true,
		"sensor.tesla2mqtt_bridge_missing_scopes":        true,
		"sensor.tesla2mqtt_bridge_token_expiry":          true,
	}
	rename := strings.NewReplacer("tesla_5yj3e1ea7pf000001_", "tesla_model3_", "tesla_1000000001_", "tesla_home_")
	goldens, _ := filepath.Glob("testdata/golden/*.json")
	for _, g := range goldens {
		raw, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var configs map[string]struct {
			DefaultEntityID string `json:"default_entity_id"`
		}
		if err := json.Unmarshal(raw, &configs); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		for _, c := range configs {
			known[rename.Replace(c.DefaultEntityID)] = true
		}
	}
	id := regexp.MustCompile(`\b(sensor|binary_sensor|switch|number|select|button|lock|cover|climate|device_tracker)\.(tesla[a-z0-9_]*)`)
	for _, f := range []string{"../../examples/home-assistant/dashboard.yaml", "../../examples/automations/solar-charging.yaml"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range id.FindAllString(string(raw), -1) {
			n++
			if !known[m] {
				t.Errorf("%s uses %s, which discovery does not announce", filepath.Base(f), m)
			}
		}
		if n == 0 {
			t.Errorf("%s names no entity", f)
		}
	}
}
