package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/config"
)

// Device-based discovery (the default): one retained config per device,
// each within the broker's retained-size limit, compared to goldens; no
// per-entity config is left on the broker.
func TestEndToEndDeviceDiscovery(t *testing.T) {
	buildVersion = "test"
	u := startUnattended(t, unattendedSetup{})
	e := u.e2e
	e.w.waitJSON(t, "homeassistant/device/tesla2mqtt_"+model3+"/config", func(m map[string]any) bool { return m["cmps"] != nil })
	// The bridge publishes in order: once it answers a request sent now,
	// the migration's clearing of the old topics has arrived too.
	if err := u.send.Publish("tesla2mqtt/bridge/request/unknown", []byte(`{"transaction":"sync"}`), false); err != nil {
		t.Fatal(err)
	}
	e.w.waitJSON(t, "tesla2mqtt/bridge/response/unknown", func(m map[string]any) bool { return m["transaction"] == "sync" })
	limit := config.Default().Broker.MaxRetainedSize
	e.w.mu.Lock()
	for topic, p := range e.w.last {
		if !strings.HasPrefix(topic, "homeassistant/") || len(p) == 0 {
			continue
		}
		if !strings.HasPrefix(topic, "homeassistant/device/") {
			t.Errorf("per-entity config left in device mode: %s", topic)
		}
		if len(p) > limit {
			t.Errorf("%s is %d bytes, over the broker's retained limit %d", topic, len(p), limit)
		}
	}
	car := map[string]any{}
	_ = json.Unmarshal(e.w.last["homeassistant/device/tesla2mqtt_"+model3+"/config"], &car)
	e.w.mu.Unlock()
	cmps, _ := car["cmps"].(map[string]any)
	bl, _ := cmps["battery_level"].(map[string]any)
	if car["device"] == nil || car["origin"] == nil || bl["platform"] != "sensor" || bl["unique_id"] != "tesla2mqtt_"+model3+"_battery_level" {
		t.Errorf("car device config: device %v, battery_level %v", car["device"], bl)
	}
	compareGolden(t, e.w, "device", "homeassistant/device/", "tesla2mqtt_")
}
