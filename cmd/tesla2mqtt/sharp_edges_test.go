package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check-config says OK only when run can start: without tesla.client_id it
// names the key and fails, with it (and [http] addr = "off") it passes.
func TestCheckConfigOnlyOKWhenRunCanStart(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out bytes.Buffer
	err := cmdCheckConfig(context.Background(), []string{"-c", write("state_dir = \"" + dir + "\"\n")}, &out, &out)
	if err == nil || !strings.Contains(out.String(), "tesla.client_id") || strings.Contains(out.String(), "OK: ") {
		t.Fatalf("no client id: err = %v, output %q", err, out.String())
	}
	out.Reset()
	err = cmdCheckConfig(context.Background(), []string{"-c", write("state_dir = \"" + dir + "\"\n[tesla]\nclient_id = \"abc\"\n[http]\naddr = \"off\"\n")}, &out, &out)
	if err != nil || !strings.HasPrefix(out.String(), "OK: ") {
		t.Fatalf("complete config: err = %v, output %q", err, out.String())
	}
	// run refuses the first file by the key's name, before anything starts.
	err = cmdRun(context.Background(), []string{"-c", write("state_dir = \"" + dir + "\"\n")}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "tesla.client_id") {
		t.Fatalf("run without a client id: %v", err)
	}
}

// demo --mqtt-url on the user's broker clears what it retained when it
// stops: no simulated device is left in their Home Assistant.
func TestDemoOnUsersBrokerClearsItsRetainedTopics(t *testing.T) {
	url := testBroker(t)
	w := newWatcher(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- cmdDemo(ctx, []string{"--mqtt-url", url, "--http-addr", "off"}, &out, io.Discard) }()
	w.waitJSON(t, "tesla2mqtt/"+model3, func(m map[string]any) bool { return m["battery_level"] != nil })
	w.waitJSON(t, "homeassistant/device/tesla2mqtt_"+model3+"/config", func(map[string]any) bool { return true })
	w.waitJSON(t, "homeassistant/device/tesla2mqtt_bridge/config", func(map[string]any) bool { return true })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
	// A fresh client gets every retained message on subscribing, before a
	// marker published after its subscription.
	after, c := dialWatcher(t, url, "after-demo", 0, "#")
	if err := c.Publish("marker/after-demo", []byte(`{"m":1}`), false); err != nil {
		t.Fatal(err)
	}
	after.waitJSON(t, "marker/after-demo", func(map[string]any) bool { return true })
	after.mu.Lock()
	defer after.mu.Unlock()
	for topic, payload := range after.last {
		if len(payload) == 0 || strings.HasSuffix(topic, "/availability") || topic == "tesla2mqtt/bridge/state" || strings.HasPrefix(topic, "marker/") {
			continue
		}
		t.Errorf("left retained after the demo: %s", topic)
	}
}
