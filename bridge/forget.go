package bridge

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
		s := b.subject(d)
		for _, topic := range b.disc.Drop(s, true) {
			b.publish(topic, nil, true)
		}
		b.publish(s.Topics.State, nil, true)
		if topic := b.disc.ConfigTopic(s.UID); topic != "" {
			b.publish(topic, nil, true)
		}
	}
	for _, topic := range b.disc.BridgeTopics(b.bridgeDevice(), problemSensors) {
		b.publish(topic, nil, true)
	}
	for _, topic := range []string{"info", "status"} {
		b.publish(b.bridgeTopic(topic), nil, true)
	}
	b.log.Info().Msg("retained topics cleared")
}
