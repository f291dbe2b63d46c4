package hass

import (
	"encoding/json"
	"strings"
	"testing"
)

func marshalMap(t *testing.T, c Component) (map[string]any, string) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, string(b)
}

func TestClimateAndExtraAreFlat(t *testing.T) {
	c := Component{
		Platform:     Climate,
		Name:         Ptr("Climate"),
		UniqueID:     "u1",
		CommandTopic: "base/dev/set/x",
		Climate: &ClimateOptions{
			Modes:            []string{"off", "heat_cool"},
			ModeCommandTopic: "base/dev/set/mode",
			MinTemp:          Ptr(15.0),
		},
		Extra: map[string]any{"optimistic": true, "retain": false},
	}
	m, raw := marshalMap(t, c)
	want := map[string]any{
		"name":               "Climate",
		"unique_id":          "u1",
		"command_topic":      "base/dev/set/x",
		"mode_command_topic": "base/dev/set/mode",
		"min_temp":           15.0,
		"optimistic":         true,
		"retain":             false,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (in %s)", k, m[k], v, raw)
		}
	}
	if modes, _ := m["modes"].([]any); len(modes) != 2 || modes[0] != "off" {
		t.Errorf("modes = %v", m["modes"])
	}
	for _, k := range []string{"Climate", "Extra", "Platform", "climate", "extra"} {
		if _, ok := m[k]; ok {
			t.Errorf("nested or internal key %q present: %s", k, raw)
		}
	}
	if _, ok := m["max_temp"]; ok {
		t.Errorf("unset max_temp not omitted: %s", raw)
	}
}

func TestPlatformNotMarshalled(t *testing.T) {
	for _, c := range []Component{
		{Platform: Sensor, UniqueID: "u1", StateTopic: "s"},                                // plain path
		{Platform: Sensor, UniqueID: "u2", StateTopic: "s", Extra: map[string]any{"a": 1}}, // merged path
	} {
		_, raw := marshalMap(t, c)
		if strings.Contains(raw, "Platform") || strings.Contains(raw, `"platform"`) {
			t.Errorf("platform leaked into %s", raw)
		}
		if !strings.Contains(raw, `"unique_id":"`+c.UniqueID+`"`) {
			t.Errorf("unique_id missing in %s", raw)
		}
	}
}

func TestConfigTopic(t *testing.T) {
	got, err := ConfigTopic("homeassistant", Sensor, "dev_1-battery")
	if err != nil || got != "homeassistant/sensor/dev_1-battery/config" {
		t.Fatalf("ConfigTopic = %q, %v", got, err)
	}
	for _, id := range []string{"", "a/b", "a b", "a+b", "a#", "ä", "a.b"} {
		if _, err := ConfigTopic("homeassistant", Sensor, id); err == nil {
			t.Errorf("ConfigTopic accepted object id %q", id)
		}
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
	}
}

func TestWritable(t *testing.T) {
	for p, want := range map[Platform]bool{Sensor: false, BinarySensor: false, DeviceTracker: false, Switch: true, Number: true, Button: true, Climate: true} {
		if p.Writable() != want {
			t.Errorf("%s.Writable() = %v, want %v", p, !want, want)
		}
	}
}
