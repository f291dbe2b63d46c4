package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// subscribe registers the bridge's inbound topics. The mqtt package re-makes
// them on every connect.
func (b *Bridge) subscribe() error {
	base := b.opts.BaseTopic
	subs := []struct {
		topic string
		h     mqtt.Handler
	}{
		{b.opts.DiscoveryPrefix + "/status", b.onHAStatus},
		{base + "/bridge/request/+", b.guarded(intakeRequest, b.onBridgeRequest)},
		{base + "/+/get", b.guarded(intakeGet, b.onGet)},
		{base + "/+/set", b.guarded(intakeSet, b.onSet)},
		{base + "/+/set/+", b.guarded(intakeSet, b.onSet)},
	}
	for _, s := range subs {
		if err := b.pub.Subscribe(s.topic, s.h); err != nil {
			return fmt.Errorf("subscribe %s: %w", s.topic, err)
		}
	}
	return nil
}

// onHAStatus asks for a republish of discovery and state when Home
// Assistant comes back (birthLoop adds the delay; a storm of births
// collapses into one or two).
func (b *Bridge) onHAStatus(m mqtt.Message) {
	if m.Dropped || strings.TrimSpace(string(m.Payload)) != "online" {
		return
	}
	select {
	case b.births <- struct{}{}:
		b.log.Info().Msg("home assistant is online; republishing discovery and state")
	default: // a birth is pending already
	}
}

// onBridgeRequest handles <base>/bridge/request/<action>.
func (b *Bridge) onBridgeRequest(m mqtt.Message) {
	action := m.Topic[strings.LastIndex(m.Topic, "/")+1:]
	var req bridgeRequest
	if p := strings.TrimSpace(string(m.Payload)); p != "" {
		if err := json.Unmarshal([]byte(p), &req); err != nil {
			if !b.answersUnknown() {
				return // one answer is enough: instance 0's
			}
			b.respond(action, contract.Response{Status: "error", Error: &contract.ResponseError{
				Code: "invalid_payload", Message: "the request must be a JSON object: " + err.Error()}})
			return
		}
	}
	switch action {
	case "republish":
		// Answered when a republish that started after the request is done.
		if !b.republishes.Request(func(ok bool) {
			if ok {
				b.respond(action, contract.Response{Status: "ok", Transaction: req.Transaction})
			}
		}) {
			b.respond(action, contract.Response{Status: "error", Transaction: req.Transaction, Error: &contract.ResponseError{
				Code: "overloaded", Message: "too many republish requests are waiting already; one that covers this one is pending"}})
		}
	case "ble_pair":
		b.blePair(req, func(r contract.Response) { b.respond(action, r) })
	case "refresh":
		if req.Device != "" && b.notMine(req.Device) {
			return // another shard's device: its owner answers
		}
		_, err := b.refresh(req.Device, func(names []string) {
			b.respond(action, contract.Response{Status: "ok", Transaction: req.Transaction, Data: map[string]any{"refreshed": names}})
		})
		if err != nil {
			b.respond(action, contract.Response{Status: "error", Transaction: req.Transaction, Error: err})
		}
	default:
		if !b.answersUnknown() {
			return
		}
		b.respond(action, contract.Response{Status: "error", Transaction: req.Transaction, Error: &contract.ResponseError{
			Code: "unknown_action", Message: fmt.Sprintf("unknown action %q; known: refresh, republish, ble_pair", short(action))}})
	}
}

// onGet handles <base>/<device>/get: a refresh of one device.
func (b *Bridge) onGet(m mqtt.Message) {
	parts := strings.Split(m.Topic, "/")
	name := parts[len(parts)-2]
	if name == "bridge" {
		return
	}
	if b.reg.Device(name) == nil {
		if !b.notMine(name) {
			b.unknownDevice(name, m.Topic, m.Payload)
		}
		return
	}
	if _, err := b.refresh(name, nil); err != nil {
		b.rejectAt(zerolog.InfoLevel, name, err.Code).Msg("get refused")
	}
}

// refresh reads one device ("" = all), at most once per
// RefreshMinInterval per device, since every read costs money. The reads
// run on Run's goroutines, so the MQTT dispatcher goes on serving other
// devices; then, if not nil, gets the names of the devices read once
// they are done. The names are returned at once too.
func (b *Bridge) refresh(name string, then func(names []string)) ([]string, *contract.ResponseError) {
	var targets []*device.Device
	if name == "" {
		targets = b.reg.Devices()
	} else {
		d := b.reg.Device(name)
		if d == nil {
			return nil, &contract.ResponseError{Code: "unknown_device", Message: fmt.Sprintf("no device named %q", short(name))}
		}
		targets = []*device.Device{d}
	}
	now := b.now()
	var done, limited []string
	var due []*device.Device
	for _, d := range targets {
		b.mu.Lock()
		last := b.lastRefresh[d.Name()]
		ok := last.IsZero() || now.Sub(last) >= b.opts.RefreshMinInterval
		if ok {
			b.lastRefresh[d.Name()] = now
		}
		b.mu.Unlock()
		if !ok {
			limited = append(limited, d.Name())
			continue
		}
		due = append(due, d)
		done = append(done, d.Name())
	}
	if len(done) == 0 && len(limited) > 0 {
		return nil, &contract.ResponseError{Code: "rate_limited", Message: fmt.Sprintf(
			"%s was refreshed less than %s ago; every read costs money, try again later",
			strings.Join(limited, ", "), b.opts.RefreshMinInterval)}
	}
	b.hand(func(ctx context.Context) {
		if len(due) > 0 {
			b.reg.Refresh(ctx, due)
		}
		if then != nil {
			then(done)
		}
	})
	return done, nil
}
