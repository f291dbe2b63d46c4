package bridge

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/discovery"
)

// Device mode migrates the per-entity configs an earlier version left:
// each old topic gets migrate_discovery before the device config goes out
// and is cleared after it; a restart does not migrate again; going back to
// entity mode migrates the other way.
func TestDeviceDiscoveryMigratesOnceAndBack(t *testing.T) {
	mem := filepath.Join(t.TempDir(), "devices.json")
	devTopic := "homeassistant/device/tesla2mqtt_" + testVIN + "/config"
	oldTopic := "homeassistant/sensor/tesla2mqtt_" + testVIN + "_battery_level/config"
	// order returns the index of each wanted message on the wire, -1 if absent.
	order := func(pub *fakePub, want ...func(topic string, p []byte) bool) []int {
		out := make([]int, len(want))
		for i := range out {
			out[i] = -1
		}
		for n, m := range pub.Messages() {
			for i, w := range want {
				if out[i] < 0 && w(m.Topic, m.Payload) {
					out[i] = n
				}
			}
		}
		return out
	}
	migrate := func(topic string) func(string, []byte) bool {
		return func(tp string, p []byte) bool {
			return tp == topic && bytes.Contains(p, []byte(`"migrate_discovery":true`))
		}
	}
	config := func(topic string) func(string, []byte) bool {
		return func(tp string, p []byte) bool { return tp == topic && bytes.Contains(p, []byte(`"unique_id"`)) }
	}
	cleared := func(topic string) func(string, []byte) bool {
		return func(tp string, p []byte) bool { return tp == topic && len(p) == 0 }
	}
	t.Run("first start in device mode", func(t *testing.T) {
		_, _, pub, _ := newTestBridge(t, func(o *Options) { o.DiscoveryMode, o.MemoryPath = discovery.Device, mem })
		got := order(pub, migrate(oldTopic), config(devTopic), cleared(oldTopic))
		if got[0] < 0 || got[1] < got[0] || got[2] < got[1] {
			t.Fatalf("migrate, device config, clear at %v; want in that order", got)
		}
		if r := pub.retainedAt(oldTopic); len(r) != 0 {
			t.Errorf("old config still retained: %s", r)
		}
	})
	t.Run("restart", func(t *testing.T) {
		_, _, pub, _ := newTestBridge(t, func(o *Options) { o.DiscoveryMode, o.MemoryPath = discovery.Device, mem })
		got := order(pub, migrate(oldTopic), config(devTopic))
		if got[0] >= 0 || got[1] < 0 {
			t.Fatalf("after a restart: migrate at %d, device config at %d; want no migration", got[0], got[1])
		}
	})
	t.Run("back to entity mode", func(t *testing.T) {
		_, _, pub, _ := newTestBridge(t, func(o *Options) { o.DiscoveryMode, o.MemoryPath = discovery.Entity, mem })
		got := order(pub, migrate(devTopic), config(oldTopic), cleared(devTopic))
		if got[0] < 0 || got[1] < got[0] || got[2] < got[1] {
			t.Fatalf("migrate device config, entity config, clear at %v; want in that order", got)
		}
	})
}
