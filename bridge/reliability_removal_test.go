package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// A car that leaves the account loses its discovery configs (empty retained
// payloads, which make Home Assistant delete the entities), its retained
// state, and is left offline, with one device_removed event; one product
// list without it is not enough. When it returns it is added again.
func TestRemovedDeviceIsClearedAndReturns(t *testing.T) {
	_, ff, pub, sched := newTestBridge(t, func(o *Options) { o.Schedule.Products = "@every 6h" })
	stateTopic := "t2m/" + testVIN
	configs := pub.retainedWith("homeassistant/", testVIN)
	if len(configs) < 10 {
		t.Fatalf("only %d discovery configs for the car before removal", len(configs))
	}
	siteConfigs := len(pub.retainedWith("homeassistant/", "_42_"))

	all := ff.products
	ff.set(func() { ff.products = all[1:] }) // the car is gone
	sched.Fire("products")
	if n := len(pub.retainedWith("homeassistant/", testVIN)); n != len(configs) {
		t.Fatalf("one product list without the car already removed configs (%d of %d left)", n, len(configs))
	}
	sched.Fire("products")
	if left := pub.retainedWith("homeassistant/", testVIN); len(left) != 0 {
		t.Fatalf("%d discovery configs still retained after removal, e.g. %s", len(left), left[0])
	}
	for _, topic := range configs {
		if m, ok := pub.Last(topic); !ok || len(m.Payload) != 0 || !m.Retained {
			t.Fatalf("%s not cleared with an empty retained message: %+v", topic, m)
		}
	}
	_, stateLeft := pub.Retained(stateTopic)
	avail := string(pub.retainedAt(stateTopic + "/availability"))
	if stateLeft || avail != "offline" {
		t.Fatalf("after removal: state retained = %v, availability = %q; want cleared and offline", stateLeft, avail)
	}
	if got := len(pub.retainedWith("homeassistant/", "_42_")); got != siteConfigs {
		t.Fatalf("the site's configs changed from %d to %d when the car left", siteConfigs, got)
	}
	ev := pub.relDeviceEvents(t)
	if len(ev) != 1 || ev[0]["type"] != contract.EventDeviceRemoved || ev[0]["device"] != testVIN {
		t.Fatalf("events = %v, want one device_removed for %s", ev, testVIN)
	}
	// A set message for the removed car runs nothing.
	before := len(ff.sent())
	pub.Send(stateTopic+"/set/charge_limit", "70")
	if len(ff.sent()) != before {
		t.Fatal("a command ran for a removed car")
	}
	if r := pub.waitResult(t); r.Code() != command.CodeUnknownDevice {
		t.Fatalf("set for the removed car: %+v, want unknown_device", r)
	}

	ff.set(func() { ff.products = all }) // back again
	sched.Fire("products")
	if n := len(pub.retainedWith("homeassistant/", testVIN)); n != len(configs) {
		t.Fatalf("returned car has %d discovery configs, want %d", n, len(configs))
	}
	if avail := pub.relRetained(stateTopic + "/availability"); avail != "online" {
		t.Fatalf("returned car availability = %q", avail)
	}
	ev = pub.relDeviceEvents(t)
	if len(ev) != 2 || ev[1]["type"] != contract.EventDeviceAdded {
		t.Fatalf("events = %v, want device_added after the return", ev)
	}
	pub.Send(stateTopic+"/set/charge_limit", "70")
	if r := pub.waitResult(t); r.Status != command.StatusOK {
		t.Fatalf("command after the return: %+v", r)
	}
}

func (p *fakePub) relRetained(topic string) string {
	return string(p.retainedAt(topic))
}

// relDeviceEvents decodes the device events published on t2m/bridge/event.
func (p *fakePub) relDeviceEvents(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range p.Messages() {
		if m.Topic != "t2m/bridge/event" {
			continue
		}
		ev := map[string]any{}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatalf("event is not JSON: %s", m.Payload)
		}
		if typ, _ := ev["type"].(string); strings.HasPrefix(typ, "device_") {
			out = append(out, ev)
		}
	}
	return out
}
