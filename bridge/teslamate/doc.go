// Package teslamate publishes the retained scalar topics TeslaMate
// publishes (teslamate/cars/<n>/<key>), computed from each car's Fleet data
// in TeslaMate's names and units (km, km/h, °C, bar, kW, hours), so evcc's
// teslamate template, TeslaMateAgile and existing flows work unchanged. It
// is a contract.Hook: it hears every state publish and publishes the topics
// whose value changed. The values come from the car's view, not from the
// entity table, so the aliases do not move when the table does.
package teslamate
