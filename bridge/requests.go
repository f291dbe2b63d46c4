package bridge

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
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
// bridges does not answer in the same instant.
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
	b.mu.Lock()
	ctx := b.ctx
	b.mu.Unlock()
	go func() {
		if b.wait(ctx, delay) {
			b.guard("ha_birth", b.republishAll)
		}
	}()
}

// Response is the payload of <base>/bridge/response/<action>.
type Response struct {
	Status      string         `json:"status"`
	Data        any            `json:"data,omitempty"`
	Error       *ResponseError `json:"error,omitempty"`
	Transaction any            `json:"transaction,omitempty"`
}

// ResponseError is the error part of a Response.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type bridgeRequest struct {
	Device      string `json:"device"`
	Transaction any    `json:"transaction"`
}

// onBridgeRequest handles <base>/bridge/request/<action>.
func (b *Bridge) onBridgeRequest(m mqtt.Message) {
	action := m.Topic[strings.LastIndex(m.Topic, "/")+1:]
	respTopic := b.opts.BaseTopic + "/bridge/response/" + action
	var req bridgeRequest
	if p := strings.TrimSpace(string(m.Payload)); p != "" {
		if err := json.Unmarshal([]byte(p), &req); err != nil {
			b.respond(respTopic, Response{Status: "error", Error: &ResponseError{
				Code: "invalid_payload", Message: "the request must be a JSON object: " + err.Error()}})
			return
		}
	}
	switch action {
	case "republish":
		b.republishAll()
		b.respond(respTopic, Response{Status: "ok", Transaction: req.Transaction})
	case "refresh":
		names, err := b.refresh(req.Device)
		if err != nil {
			b.respond(respTopic, Response{Status: "error", Transaction: req.Transaction, Error: err})
			return
		}
		b.respond(respTopic, Response{Status: "ok", Transaction: req.Transaction, Data: map[string]any{"refreshed": names}})
	default:
		b.respond(respTopic, Response{Status: "error", Transaction: req.Transaction, Error: &ResponseError{
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
	if _, err := b.refresh(name); err != nil {
		b.log.Info().Str("device", name).Str("code", err.Code).Msg("get refused: " + err.Message)
	}
}

// refresh reads one device now ("" = all), at most once per
// RefreshMinInterval per device, since every read costs money.
func (b *Bridge) refresh(name string) ([]string, *ResponseError) {
	var targets []*device
	if name == "" {
		targets = b.sortedDevices()
	} else {
		b.mu.Lock()
		d := b.devices[name]
		b.mu.Unlock()
		if d == nil {
			return nil, &ResponseError{Code: "unknown_device", Message: fmt.Sprintf("no device named %q", name)}
		}
		targets = []*device{d}
	}
	now := b.now()
	var done, limited []string
	var due []*device
	for _, d := range targets {
		b.mu.Lock()
		last := b.lastRefresh[d.name]
		ok := last.IsZero() || now.Sub(last) >= b.opts.RefreshMinInterval
		if ok {
			b.lastRefresh[d.name] = now
		}
		b.mu.Unlock()
		if !ok {
			limited = append(limited, d.name)
			continue
		}
		due = append(due, d)
		done = append(done, d.name)
	}
	b.mu.Lock()
	ctx := b.ctx
	b.mu.Unlock()
	// One connectivity check serves every car of the refresh; a car it
	// found newly online has been read by it already.
	var readByCheck map[*device]bool
	for _, d := range due {
		if d.kind == kindVehicle {
			readByCheck = b.pollConnectivity(ctx)
			break
		}
	}
	for _, d := range due {
		switch d.kind {
		case kindVehicle:
			b.mu.Lock()
			online := d.vehicle.State == fleet.StateOnline
			b.mu.Unlock()
			if online && !readByCheck[d] {
				b.pollVehicle(ctx, d)
			}
		case kindSite:
			b.pollSite(ctx, d, true)
		case kindWallConnector:
			// A Wall Connector's values come with its site's live_status,
			// unless the site itself is being read in this refresh.
			if d.parent != nil && !slices.Contains(due, d.parent) {
				b.pollSite(ctx, d.parent, false)
			}
		}
	}
	if len(done) == 0 && len(limited) > 0 {
		return nil, &ResponseError{Code: "rate_limited", Message: fmt.Sprintf(
			"%s was refreshed less than %s ago; every read costs money, try again later",
			strings.Join(limited, ", "), b.opts.RefreshMinInterval)}
	}
	return done, nil
}

func (b *Bridge) respond(topic string, r Response) {
	payload, err := json.Marshal(r)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode response")
		return
	}
	b.publish(topic, payload, false)
}
