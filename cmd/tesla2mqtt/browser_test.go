package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var screenshot = flag.Bool("screenshot", false, "save the status page screenshot to docs/status-page.png")

// chromiumFlags are those this machine's headless Chromium needs: no
// sandbox as root, and no background traffic to a network that is closed.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"}

// chromium runs headless Chromium with a fresh profile and returns stdout.
func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	all := append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir())
	all = append(all, args...)
	out, err := exec.Command(bin, all...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// TestStatusPageInChromium loads the status page of a running demo in
// headless Chromium, checks what a person sees, logs in with Tesla
// (fleetsim plays Tesla: authorize → /auth/callback) and takes a screenshot.
func TestStatusPageInChromium(t *testing.T) {
	bin := peerNeedProgram(t, "chromium", "chromium-browser", "google-chrome")
	cfg := filepath.Join(t.TempDir(), "config.toml")
	// A domain makes the page show the pairing link and its QR code.
	peerWriteFile(t, cfg, "[tesla]\ndomain = \"tesla2mqtt.example.com\"\n")
	demo := peerStartDemo(t, nil, "--mqtt-addr", "127.0.0.1:0", "-c", cfg)

	dom := chromium(t, bin, "--dump-dom", demo.StatusURL)
	for _, want := range []string{
		"Bridge healthy", "MQTT: connected", "Tesla token: valid", "Red Three", "Blue Y", "Model Y",
		"asleep", "required", "Battery: 62 %", "Powerwall", `id="region">na<`, "vehicle_location",
		"All requested scopes are granted", "Log in with Tesla", "https://tesla.com/_ak/tesla2mqtt.example.com",
		`<svg class="qr"`, "Fleet API spend",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	// The login: Chromium follows /auth/start to fleetsim's authorize
	// endpoint and back to /auth/callback, which stores the new token.
	dom = chromium(t, bin, "--dump-dom", demo.StatusURL+"auth/start")
	if !strings.Contains(dom, "Logged in with Tesla") || !strings.Contains(dom, "vehicle_cmds") {
		t.Fatalf("the login did not end on the result page:\n%s", dom)
	}
	demo.waitLine(t, regexp.MustCompile(`new Tesla token saved`), 10*time.Second)
	demo.waitLine(t, regexp.MustCompile(`new token from tesla2mqtt login picked up`), 10*time.Second)

	shot := filepath.Join(t.TempDir(), "status-page.png")
	chromium(t, bin, "--window-size=1280,1900", "--screenshot="+shot, demo.StatusURL)
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 10_000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if *screenshot {
		if err := os.WriteFile("../../docs/status-page.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	peerCheckLogs(t, demo.output())
}
