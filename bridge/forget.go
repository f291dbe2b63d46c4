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
		b.clearRetained(b.disc.Drop(s, true)...)
		b.clearRetained(s.Topics.State, b.disc.ConfigTopic(s.UID))
	}
	b.clearRetained(b.disc.BridgeTopics()...)
	b.clearRetained(b.bridgeTopic("info"), b.bridgeTopic("status"))
	b.log.Info().Msg("retained topics cleared")
}
