package config

import (
	"strings"
	"testing"
)

func TestTelemetryValidation(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	neg := -1.0
	c.Telemetry = Telemetry{Enabled: true, Hostname: "t.example.com", Port: 70000, TopicBase: "tesla2mqtt/ft",
		Preset: "turbo", Quiet: "soon", SafetyRead: "every day",
		Fields: map[string]TelemetryField{"vehicle_speed": {IntervalSeconds: -1, MinimumDelta: &neg}}}
	err := c.Validate()
	if err == nil {
		t.Fatal("bad [telemetry] accepted")
	}
	for _, key := range []string{"telemetry.preset", "telemetry.port", "telemetry.topic_base", "telemetry.quiet",
		"telemetry.safety_read", "telemetry.fields.vehicle_speed", "telemetry.ca_file"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("no problem reported for %s:\n%v", key, err)
		}
	}
}
