package bridge

import (
	"encoding/json"
	"testing"
)

// At start a car's discovery goes out once, already with the firmware its
// first read found, not once without and again with it.
func TestDiscoveryOnceAtStartWithFirmware(t *testing.T) {
	_, _, pub, _ := newTestBridge(t, nil)
	topic := "homeassistant/sensor/tesla2mqtt_" + testVIN + "_battery_level/config"
	var sent [][]byte
	for _, m := range pub.Messages() {
		if m.Topic == topic {
			sent = append(sent, m.Payload)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("%d discovery configs for battery_level at start, want 1", len(sent))
	}
	var c struct {
		Device struct {
			SWVersion string `json:"sw_version"`
		} `json:"device"`
	}
	if err := json.Unmarshal(sent[0], &c); err != nil || c.Device.SWVersion != "2026.32.5" {
		t.Errorf("sw_version = %q (%v), want the firmware of the first read", c.Device.SWVersion, err)
	}
}
