package bridge

import "github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"

// Forget clears every retained message the bridge published: each device's
// discovery configs (an empty retained payload makes Home Assistant delete
// the entities) and state, the bridge device's configs,
// bridge/info and bridge/status. The demo calls it when it stops on a
// user's broker, so a real Home Assistant is not left with the simulated
// devices. Availability stays offline, as at every shutdown, for a client
// that still watches it. Call it after Run has returned, before the MQTT
// client closes.
func (b *Bridge) Forget() {
	for _, d := range b.reg.Devices() {
		b.mu.Lock()
		t := b.topics(d)
		memo := b.memo(d)
		topics := b.discoveryTopics(d, memo.discovered)
		if len(topics) == 0 {
			topics = b.discoveryTopics(d, d.All())
		}
		memo.discovered = nil
		b.mu.Unlock()
		for _, topic := range topics {
			b.publish(topic, nil, true)
		}
		b.publish(t.State, nil, true)
		if b.deviceMode() {
			b.publish(b.deviceTopic(deviceObjectID(d)), nil, true)
		}
	}
	if b.deviceMode() {
		b.publish(b.deviceTopic(bridgeDeviceID), nil, true)
	}
	bd := b.bridgeDevice()
	comps := append(bd.AccountComponents(problemSensors), bd.BudgetComponents()...)
	for _, c := range comps {
		if topic, err := hass.ConfigTopic(b.opts.DiscoveryPrefix, c.Platform, c.UniqueID); err == nil {
			b.publish(topic, nil, true)
		}
	}
	for _, topic := range []string{"info", "status"} {
		b.publish(b.bridgeTopic(topic), nil, true)
	}
	b.log.Info().Msg("retained topics cleared")
}
