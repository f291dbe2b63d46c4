package config

import (
	"strings"
	"testing"
)

// A wrong value type must not hide the file's other problems: one run of
// check-config shows everything to fix.
func TestLoadReportsTypeErrorsWithEverythingElse(t *testing.T) {
	path := writeConfig(t, `
[mqtt]
urll = "tcp://x"
discovery = "yes"
[[vehicle]]
vin = "5yj3e1ea7kf000001"
[[vehicle]]
vin = 12
[schedule]
products = "every 6h"
`)
	_, err := LoadWith(path, nil)
	got := map[string]string{}
	for _, p := range Problems(err) {
		if _, dup := got[p.Key]; dup {
			t.Errorf("%s reported twice", p.Key)
		}
		got[p.Key] = p.Message
	}
	want := map[string]string{
		"mqtt.discovery":    "expected a boolean, got a string",
		"mqtt.urll":         "unknown key",
		"vehicle[0].vin":    "may only hold digits",
		"vehicle[1].vin":    "expected a string, got an integer",
		"schedule.products": "invalid cron spec",
	}
	for k, frag := range want {
		if !strings.Contains(got[k], frag) {
			t.Errorf("%s: %q, want it to mention %q", k, got[k], frag)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems = %v, want exactly the keys of %v", got, want)
	}
}
