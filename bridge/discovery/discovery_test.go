package discovery

import (
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// sent records what Offers hands the core, in order; "" payload is a clear.
type sent []string

func (s *sent) send(topic string, payload []byte, _ bool) {
	switch {
	case len(payload) == 0:
		*s = append(*s, "clear "+topic)
	case string(payload) == string(hass.MigratePayload):
		*s = append(*s, "migrate "+topic)
	default:
		*s = append(*s, "config "+topic)
	}
}

// A device moves to device mode once (its entity configs migrated into
// the device config), not again after a restart that restored the
// migration, and back to entity mode by the same protocol.
func TestOffersMigrateOnceAndBack(t *testing.T) {
	row := &entity.Spec{Meta: entity.Meta{Key: "battery_level", Name: "Battery level", Platform: hass.Sensor}}
	subj := Subject{Name: "car", UID: "VIN1", Topics: entity.Topics{State: "t/car", Availability: "t/car/availability", Bridge: "t/bridge/state"},
		Rows: []*entity.Spec{row}}
	settings := Settings{Prefix: "homeassistant", Mode: Device, Log: zerolog.Nop()}
	old, dev := "homeassistant/sensor/tesla2mqtt_VIN1_battery_level/config", "homeassistant/device/tesla2mqtt_VIN1/config"

	var got sent
	o := New(settings)
	o.Hold(true)
	o.Offer(got.send, subj)
	if len(got) != 0 {
		t.Fatalf("held, yet sent %v", got)
	}
	o.Hold(false)
	o.Offer(got.send, subj)
	if want := (sent{"migrate " + old, "config " + dev, "clear " + old}); !slices.Equal(got, want) {
		t.Fatalf("first device config: %v, want %v", got, want)
	}

	restarted := New(settings)
	restarted.Restore(o.Migrated())
	got = nil
	restarted.Offer(got.send, subj)
	if want := (sent{"config " + dev}); !slices.Equal(got, want) {
		t.Fatalf("after a restart: %v, want %v", got, want)
	}

	settings.Mode = Entity
	back := New(settings)
	back.Restore(o.Migrated())
	got = nil
	back.Offer(got.send, subj)
	if want := (sent{"migrate " + dev, "config " + old, "clear " + dev}); !slices.Equal(got, want) {
		t.Fatalf("back to entity mode: %v, want %v", got, want)
	}
	if m := back.Migrated(); len(m) != 0 {
		t.Errorf("still migrated after going back: %v", m)
	}
	if topics := back.Drop(subj, false); !slices.Equal(topics, []string{old}) {
		t.Errorf("Drop = %v, want the offered config %s", topics, old)
	}
}
