package hass

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The fast encoders write the bytes json.Marshal writes (the goldens in
// cmd/tesla2mqtt compare whole payloads): components sorted by key with
// their platform, HTML-sensitive characters escaped, extra members and a
// climate block merged, the root in struct order with cmps last.
func TestDeviceEncodingIsJSONMarshal(t *testing.T) {
	name, on := "Charge <limit> & more", true
	comps := []Component{
		{Platform: "sensor", Name: &name, UniqueID: "u1", StateTopic: "t/a", ValueTemplate: "{{ value_json.a > 1 }}",
			Device: &Device{Name: "car"}, Availability: []Availability{{Topic: "x"}}},
		{Platform: "switch", UniqueID: "u2", CommandTopic: "t/a/set", EnabledByDefault: &on,
			Extra: map[string]any{"zzz": 1, "options": []string{"a", "b"}}},
		{Platform: "button", UniqueID: "u3"},
	}
	p := DevicePayload{Device: &Device{Name: "Red <Three>", Identifiers: []string{"x"}}, Origin: &Origin{Name: "t"},
		Availability: []Availability{{Topic: "a"}, {Topic: "b"}}, AvailabilityMode: "all",
		Components: map[string]json.RawMessage{"removed": RemovedComponent("sensor")}}
	for i, c := range comps {
		got, err := DeviceComponent(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshalComponent(t, c); !bytes.Equal(got, want) {
			t.Errorf("component %d:\n got %s\nwant %s", i, got, want)
		}
		p.Components[c.UniqueID] = got
	}
	for _, p := range []DevicePayload{p, {Device: p.Device, Origin: p.Origin}} {
		got, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(p)
		if !bytes.Equal(got, want) {
			t.Errorf("device payload:\n got %s\nwant %s", got, want)
		}
	}
}

// marshalComponent is DeviceComponent the plain way.
func marshalComponent(t *testing.T, c Component) []byte {
	t.Helper()
	c.Device, c.Origin, c.Availability, c.AvailabilityMode = nil, nil, nil, ""
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["platform"], _ = json.Marshal(c.Platform)
	out, _ := json.Marshal(m)
	return out
}
