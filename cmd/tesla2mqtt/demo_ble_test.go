package main

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// demo --ble parks Blue Y in the garage: its state comes over the
// simulated Bluetooth link (data_source "ble", RSSI published) and a
// command to it goes over Bluetooth too, waking it there for free.
func TestDemoBLEGarage(t *testing.T) {
	url := testBroker(t)
	w := newWatcher(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- cmdDemo(ctx, []string{"--ble", "--speed", "30", "--mqtt-url", url, "--http-addr", "off"}, &out, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	w.waitJSON(t, "tesla2mqtt/"+modelY, func(m map[string]any) bool {
		return m["data_source"] == "ble" && m["ble_connected"] == true && m["ble_rssi"] == float64(demoGarageRSSI)
	})
	_, c := dialWatcher(t, url, "demo-ble-setter", 0, "nothing/here")
	if err := c.Publish("tesla2mqtt/"+modelY+"/set", []byte(`{"charge_limit": 77, "transaction": "demo-ble"}`), false); err != nil {
		t.Fatal(err)
	}
	r := w.waitJSON(t, "tesla2mqtt/"+modelY+"/result", func(m map[string]any) bool { return m["transaction"] == "demo-ble" })
	if r["status"] != "ok" || r["via"] != "ble" {
		t.Errorf("command to the car in the garage: %v; want ok via ble", r)
	}
}
