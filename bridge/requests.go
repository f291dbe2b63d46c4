package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

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
		{base + "/bridge/request/+", b.onBridgeRequest},
		{base + "/+/get", b.onGet},
		{base + "/+/set", b.onSet},
		{base + "/+/set/+", b.onSet},
	}
	for _, s := range subs {
		if err := b.pub.Subscribe(s.topic, s.h); err != nil {
			return fmt.Errorf("subscribe %s: %w", s.topic, err)
		}
	}
	return nil
}

// onHAStatus republishes discovery and state when Home Assistant comes back,
// after a short random delay so a restarting HA is ready and a fleet of
// bridges does not answer in the same instant. Run owns the wait.
func (b *Bridge) onHAStatus(m mqtt.Message) {
	if strings.TrimSpace(string(m.Payload)) != "online" {
		return
	}
	delay := b.opts.BirthDelay
	if delay > 0 {
		delay += time.Duration(rand.Int64N(int64(delay)))
	}
	b.log.Info().Dur("delay", delay).Msg("home assistant is online; republishing discovery and state")
	if delay == 0 {
		b.republishAll()
		return
	}
	select {
	case b.births <- delay:
	default: // as many republishes are already waiting as a birth storm can use
	}
}

// onBridgeRequest handles <base>/bridge/request/<action>.
func (b *Bridge) onBridgeRequest(m mqtt.Message) {
	action := m.Topic[strings.LastIndex(m.Topic, "/")+1:]
	var req bridgeRequest
	if p := strings.TrimSpace(string(m.Payload)); p != "" {
		if err := json.Unmarshal([]byte(p), &req); err != nil {
			b.respond(action, Response{Status: "error", Error: &ResponseError{
				Code: "invalid_payload", Message: "the request must be a JSON object: " + err.Error()}})
			return
		}
	}
	switch action {
	case "republish":
		b.republishAll()
		b.respond(action, Response{Status: "ok", Transaction: req.Transaction})
	case "refresh":
		if req.Device != "" && b.reg.Device(req.Device) == nil && b.notMine(req.Device) {
			return
		}
		names, err := b.refresh(req.Device)
		if err != nil {
			b.respond(action, Response{Status: "error", Transaction: req.Transaction, Error: err})
			return
		}
		b.respond(action, Response{Status: "ok", Transaction: req.Transaction, Data: map[string]any{"refreshed": names}})
	default:
		if !b.answersUnknown() {
			return
		}
		b.respond(action, Response{Status: "error", Transaction: req.Transaction, Error: &ResponseError{
			Code: "unknown_action", Message: fmt.Sprintf("unknown action %q; known: refresh, republish", action)}})
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
	if _, err := b.refresh(name); err != nil {
		b.log.Info().Str("device", name).Str("code", err.Code).Msg("get refused: " + err.Message)
	}
}

// refresh reads one device now ("" = all), at most once per
// RefreshMinInterval per device, since every read costs money.
func (b *Bridge) refresh(name string) ([]string, *ResponseError) {
	var targets []*device.Device
	if name == "" {
		targets = b.reg.Devices()
	} else {
		d := b.reg.Device(name)
		if d == nil {
			return nil, &ResponseError{Code: "unknown_device", Message: fmt.Sprintf("no device named %q", name)}
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
	if len(due) > 0 {
		b.within(func(ctx context.Context) { b.reg.Refresh(ctx, due) })
	}
	if len(done) == 0 && len(limited) > 0 {
		return nil, &ResponseError{Code: "rate_limited", Message: fmt.Sprintf(
			"%s was refreshed less than %s ago; every read costs money, try again later",
			strings.Join(limited, ", "), b.opts.RefreshMinInterval)}
	}
	return done, nil
}

// respond publishes the response to a bridge request and tells the hooks.
func (b *Bridge) respond(action string, r Response) {
	r.Shard = b.shardName()
	payload, err := json.Marshal(r)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode response")
		return
	}
	b.publish(b.opts.BaseTopic+"/bridge/response/"+action, payload, false)
	for _, h := range b.opts.Hooks {
		h.OnRequest(action, r)
	}
}
