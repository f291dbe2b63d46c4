package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"path/filepath"

	"github.com/tesla2mqtt/tesla2mqtt/internal/browsertest"
)

// TestStatusPageInChromium loads the status page of a running demo in
// headless Chromium, checks what a person sees, and logs in with Tesla
// through the page's button (fleetsim plays Tesla: the form posts to
// /auth/start → authorize → /auth/callback). The screenshots in docs/
// come from bridge/web's browser tests, whose data is fixed.
func TestStatusPageInChromium(t *testing.T) {
	b := browsertest.Start(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	// A domain makes the page show the pairing link and its QR code.
	peerWriteFile(t, cfg, "[tesla]\ndomain = \"tesla2mqtt.example.com\"\n")
	demo := peerStartDemo(t, nil, "--mqtt-addr", "127.0.0.1:0", "-c", cfg)
	// The page shows what the bridge has read: wait for the first read of
	// the Red Three (its state on MQTT) and the pairing check.
	w := peerWatch(t, "tcp://"+demo.Broker, "", "")
	w.wait(t, "tesla2mqtt/5YJ3E1EA7PF000001", 30*time.Second, func(m map[string]any) bool {
		return m["battery_level"] != nil && m["key_paired"] != nil
	})

	p := b.NewPage(390, 844, true)
	p.Navigate(demo.StatusURL)
	text := p.Eval("document.body.innerText").(string)
	html := p.Eval("document.documentElement.outerHTML").(string)
	for _, want := range []string{
		"Bridge healthy", "MQTT: connected", "Tesla token: valid", "Red Three", "Blue Y", "Model Y",
		"asleep", "required", "Battery 62 %", "Powerwall", "vehicle_location",
		"All requested scopes are granted", "Log in with Tesla", "https://tesla.com/_ak/tesla2mqtt.example.com", "Fleet API spend",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	for _, want := range []string{`id="region">na<`, `<svg class="qr"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	if w := p.Eval("document.documentElement.scrollWidth - document.documentElement.clientWidth"); w != float64(0) {
		t.Errorf("the demo's page scrolls sideways by %v px at 390 px", w)
	}
	if t.Failed() {
		t.Logf("page:\n%s", text)
	}

	// The login: the button posts the form; Chromium follows the redirect
	// to fleetsim's authorize endpoint and back to /auth/callback, which
	// stores the new token.
	p.Click("#login")
	if text := p.Eval("document.body.innerText").(string); !strings.Contains(text, "Logged in with Tesla") || !strings.Contains(text, "vehicle_cmds") {
		t.Fatalf("the login did not end on the result page:\n%s", text)
	}
	demo.waitLine(t, regexp.MustCompile(`new Tesla token saved`), 10*time.Second)
	demo.waitLine(t, regexp.MustCompile(`new token from tesla2mqtt login picked up`), 10*time.Second)
	peerCheckLogs(t, demo.output())
}
