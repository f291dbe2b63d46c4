package config

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// telemetryField is a Fleet Telemetry field name (protos/vehicle_data.proto).
var telemetryField = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

// validateTelemetry checks [telemetry] whether or not it is enabled, so a
// mistake shows before the day the user turns it on.
func (c *Config) validateTelemetry(ps *problems) {
	t := c.Telemetry
	oneOf(ps, "telemetry.preset", t.Preset, "eco", "balanced", "live")
	if t.Port < 1 || t.Port > 65535 {
		ps.add("telemetry.port", "%d is not a TCP port (1-65535)", t.Port)
	}
	validateTopic(ps, "telemetry.topic_base", t.TopicBase)
	if b := c.MQTT.BaseTopic; t.TopicBase == b || strings.HasPrefix(t.TopicBase, b+"/") {
		ps.add("telemetry.topic_base", "%q lies in mqtt.base_topic: the stream and the bridge's own topics must not mix", t.TopicBase)
	}
	validateURL(ps, "telemetry.broker_url", t.BrokerURL, true)
	if d, err := time.ParseDuration(t.Quiet); err != nil || d <= 0 {
		ps.add("telemetry.quiet", "%q is not a positive Go duration such as \"10m\"", t.Quiet)
	}
	if t.SafetyRead != "" {
		if _, err := cron.ParseStandard(t.SafetyRead); err != nil {
			ps.add("telemetry.safety_read", "invalid cron spec %q: %v", t.SafetyRead, err)
		}
	}
	names := make([]string, 0, len(t.Fields))
	for n := range t.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, key := t.Fields[n], "telemetry.fields."+n
		if !telemetryField.MatchString(n) {
			ps.add(key, "%q is not a Fleet Telemetry field name (such as VehicleSpeed)", n)
		}
		if f.IntervalSeconds < 0 || f.ResendIntervalSeconds < 0 {
			ps.add(key, "intervals must be 0 (the preset's) or more")
		}
		if f.MinimumDelta != nil && *f.MinimumDelta < 0 {
			ps.add(key, "minimum_delta must be 0 (none) or more")
		}
	}
	if t.Enabled && t.CAFile == "" && t.Hostname != "" {
		ps.add("telemetry.ca_file", "must name the server certificate's PEM chain: the cars verify the server with it")
	}
}
