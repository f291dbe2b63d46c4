package telemetry

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

const vin = "5YJ3E1EA7PF000001"

// sink records what reaches the cars; it serves vin only.
type sink struct {
	datums    []string
	connected []bool
	alive     int
}

func (s *sink) Datum(v, field string, val entity.TelemetryValue, _ time.Time) (string, bool, bool) {
	if v != vin {
		return "", false, false
	}
	f, ok := val.Float()
	s.datums = append(s.datums, field)
	return "car", ok && f >= 0, !ok
}

func (s *sink) Connectivity(v string, connected bool, _ time.Time) (string, string, bool) {
	if v != vin {
		return "", "", false
	}
	s.connected = append(s.connected, connected)
	return "car", fleet.StateOnline, true
}

func (s *sink) Alive(v string, _ time.Time) string {
	if v != vin {
		return ""
	}
	s.alive++
	return "car"
}

type meter struct{ n int }

func (m *meter) Record(fleet.Request) { m.n++ }

// The dispatcher's topics reach the sink: every datum is metered (mapped
// or not, ours or not), a payload that is not JSON stops at the ingest,
// connectivity records and alerts reach it, and retained messages (their
// age is unknown) do not.
func TestIngestRoutesTheDispatchersTopics(t *testing.T) {
	r := mqtttest.NewRouter()
	s, m := &sink{}, &meter{}
	in := New(Options{TopicBase: "ft/", Streaming: m}, s, clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)), zerolog.Nop())
	if err := in.Subscribe(r); err != nil {
		t.Fatal(err)
	}
	r.Send("ft/"+vin+"/v/BatteryLevel", `{"value":63.5}`)
	r.Send("ft/"+vin+"/v/Odometer", `not json`)
	r.Send("ft/5YJ3E1EA7PF999999/v/BatteryLevel", `10`)
	r.Send("ft/"+vin+"/connectivity", `{"Status":"DISCONNECTED"}`)
	r.Send("ft/"+vin+"/connectivity", `{"Status":"SOMETHING"}`)
	r.Send("ft/"+vin+"/alerts/ChargePortFault/current", `{}`)
	r.Send("ft/"+vin+"/errors/cert", `{}`)
	r.Inject(mqtt.Message{Topic: "ft/" + vin + "/v/Soc", Payload: []byte(`50`), Retained: true})
	r.Send("other/"+vin+"/v/Soc", `50`)
	if len(s.datums) != 1 || s.datums[0] != "BatteryLevel" {
		t.Errorf("datums = %v, want BatteryLevel alone", s.datums)
	}
	if m.n != 3 {
		t.Errorf("metered %d signals, want 3 (the retained one is not a signal)", m.n)
	}
	if len(s.connected) != 1 || s.connected[0] {
		t.Errorf("connectivity = %v, want one DISCONNECTED", s.connected)
	}
	if s.alive != 2 {
		t.Errorf("alerts and errors seen %d times, want 2", s.alive)
	}
}

func TestOptionsDefaults(t *testing.T) {
	if o := (Options{}); o.Base() != DefaultTopicBase || o.QuietAfter() != DefaultQuiet {
		t.Errorf("defaults = %q, %v", o.Base(), o.QuietAfter())
	}
	if o := (Options{TopicBase: "x/y/", Quiet: time.Minute}); o.Base() != "x/y" || o.QuietAfter() != time.Minute {
		t.Errorf("set = %q, %v", o.Base(), o.QuietAfter())
	}
}
