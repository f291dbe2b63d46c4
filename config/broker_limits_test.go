package config

import (
	"strings"
	"testing"
)

// The broker's size limits and the client id suffix: safe defaults, a
// file can change them, and values that would break the bridge are
// refused with the key.
func TestBrokerLimitsAndClientIDSuffix(t *testing.T) {
	def := Default()
	if def.Broker.MaxPacketSize != 256<<10 || def.Broker.MaxRetainedSize != 64<<10 || !def.MQTT.ClientIDSuffix {
		t.Fatalf("defaults: max_packet_size %d, max_retained_size %d, client_id_suffix %v",
			def.Broker.MaxPacketSize, def.Broker.MaxRetainedSize, def.MQTT.ClientIDSuffix)
	}
	cfg, err := LoadWith(writeConfig(t, "[mqtt]\nclient_id_suffix = false\n[broker]\nmax_packet_size = 1048576\nmax_retained_size = 1048576\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.ClientIDSuffix || cfg.Broker.MaxPacketSize != 1<<20 || cfg.Broker.MaxRetainedSize != 1<<20 {
		t.Fatalf("loaded %+v %+v", cfg.MQTT, cfg.Broker)
	}
	for _, tc := range []struct {
		packet, retained int
		key, msg         string
	}{
		{1024, 512, "broker.max_packet_size", "from 65536"},
		{MaxMQTTPacketSize + 1, 1024, "broker.max_packet_size", "268435455"},
		{1 << 20, 0, "broker.max_retained_size", "from 1"},
		{1 << 20, 2 << 20, "broker.max_retained_size", "to broker.max_packet_size (1048576)"},
	} {
		c := Default()
		c.Broker.MaxPacketSize, c.Broker.MaxRetainedSize = tc.packet, tc.retained
		p := findProblem(t, c.Validate(), tc.key)
		if !strings.Contains(p.Message, tc.msg) {
			t.Errorf("packet %d retained %d: %s: %q, want %q", tc.packet, tc.retained, tc.key, p.Message, tc.msg)
		}
	}
	// A string is a type problem with the key, not a crash.
	_, err = LoadWith(writeConfig(t, "[broker]\nmax_packet_size = \"256KB\"\n"), noEnv)
	if p := findProblem(t, err, "broker.max_packet_size"); !strings.Contains(p.Message, "integer") {
		t.Errorf("string size: %q", p.Message)
	}
}
