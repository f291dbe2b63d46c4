// Package bridge keeps the account's devices on MQTT: it discovers the
// cars and energy sites of a Tesla account, reads them through their kinds
// on the polling economy's schedule, publishes their state, availability
// and Home Assistant discovery, and turns set, get and bridge/request
// messages into work for the command executor and the kinds.
//
// What it is made of lives in sub-packages, each with one job: entity (the
// tables, as data), schedule (cron on the injected clock), economy (what a
// read may cost), command (set messages to results), telemetry (the Fleet
// Telemetry ingest); metrics, teslamate and web sit on top as hooks and
// readers of Status.
//
// Inside, the files stand on each other, bottom to top, and refer only
// downwards: payloads.go (what is published, as types), device.go (the
// device and the kind seam: family and kind), hooks.go, options.go,
// bridge.go (the Bridge and its primitives), publish.go, account.go,
// info.go, status.go, reads.go, republish.go, target.go, the kinds
// (route.go, vehicle*.go, cars.go, wallconnector.go, site.go),
// removal.go, registry.go, sets.go, requests.go, and run.go (New and Run)
// on top. A new device kind is one file implementing family and kind, its
// table in entity, and one line in New.
package bridge
