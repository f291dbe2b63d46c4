package discovery

import (
	"encoding/json"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// problemSensors name the bridge device's problem sensors, one per
// account dead end that bridge/status can report.
var problemSensors = []entity.ProblemSensor{
	{Code: economy.ProblemNotRegistered, Name: "App not registered in region"},
	{Code: economy.ProblemWrongRegion, Name: "Wrong region"},
	{Code: economy.ProblemBillingLimit, Name: "Billing limit reached"},
	{Code: economy.ProblemAppDisabled, Name: "App disabled"},
	{Code: economy.ProblemPaymentRequired, Name: "Payment required"},
}

// OfferBridge sends the bridge device's discovery: its account entities
// and, in device mode with a budget, the spend sensors, which entity mode
// offers apart (OfferBudget).
func (o *Offers) OfferBridge(send Send, budget bool) {
	bd := o.set.Bridge
	if o.DeviceMode() {
		o.offerBridgeDevice(send, bd, budget)
		return
	}
	o.mu.Lock()
	back := o.leaveDeviceMode(bridgeID, bridgeID)
	o.mu.Unlock()
	if back != "" {
		send(back, hass.MigratePayload, true)
		defer send(back, nil, true)
	}
	o.sendConfigs(send, bd.AccountComponents(problemSensors))
}

// OfferBudget sends the budget sensors' per-entity configs; in device
// mode the bridge device's config carries them (OfferBridge).
func (o *Offers) OfferBudget(send Send) {
	if !o.DeviceMode() {
		o.sendConfigs(send, o.set.Bridge.BudgetComponents())
	}
}

// BridgeTopics are every retained config of the bridge device, in either
// layout, for a caller that clears them all.
func (o *Offers) BridgeTopics() []string {
	bd := o.set.Bridge
	var out []string
	if o.DeviceMode() {
		out = append(out, o.deviceTopic(bridgeID))
	}
	for _, c := range append(bd.AccountComponents(problemSensors), bd.BudgetComponents()...) {
		if topic, err := hass.ConfigTopic(o.set.Prefix, c.Platform, c.UniqueID); err == nil {
			out = append(out, topic)
		}
	}
	return out
}

// sendConfigs sends one per-entity config for each of cs.
func (o *Offers) sendConfigs(send Send, cs []hass.Component) {
	for _, c := range cs {
		topic, err := hass.ConfigTopic(o.set.Prefix, c.Platform, c.UniqueID)
		if err != nil {
			continue
		}
		if payload, err := json.Marshal(c); err == nil {
			send(topic, payload, true)
		}
	}
}

// offerBridgeDevice sends the bridge device's config: the account's
// entities and, with a budget, the spend sensors; the first time, their
// per-entity configs are migrated into it.
func (o *Offers) offerBridgeDevice(send Send, bd entity.BridgeDevice, budget bool) {
	cs := bd.AccountComponents(problemSensors)
	if budget {
		cs = append(cs, bd.BudgetComponents()...)
	}
	comps := map[string]json.RawMessage{}
	var dev *hass.Device
	var legacy []string
	for _, c := range cs {
		dev = c.Device
		raw, err := hass.DeviceComponent(c)
		if err != nil {
			continue
		}
		comps[c.UniqueID] = raw
		if topic, err := hass.ConfigTopic(o.set.Prefix, c.Platform, c.UniqueID); err == nil {
			legacy = append(legacy, topic)
		}
	}
	o.mu.Lock()
	if o.migrated[bridgeID] {
		legacy = nil
	}
	o.migrated[bridgeID] = true
	o.mu.Unlock()
	p := hass.DevicePayload{Device: dev, Origin: &o.origin, Components: comps,
		Availability: []hass.Availability{{Topic: bd.Topics + "/state"}}}
	o.migrating(send, o.deviceTopic(bridgeID), p, legacy)
}
