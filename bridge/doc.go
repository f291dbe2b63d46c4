// Package bridge keeps the account's devices on MQTT: it publishes their
// state, availability and Home Assistant discovery and the bridge's own
// topics, routes set, get and bridge/request messages to the command
// executor and the device registry, tells its hooks, and runs it all under
// one Run that owns every goroutine it starts.
//
// What it is made of lives in sub-packages, each with one job: contract
// (its topics' payloads, status snapshot and hooks, as types), sharding
// (which instance owns which device), coalesce (one full republish at a
// time), lanes (the polling pool), entity (the tables, as data), schedule
// (cron on the injected clock), economy (what a read may cost), command
// (set messages to results), telemetry (the Fleet Telemetry ingest),
// device (the devices and their reads), discovery (HA's configs);
// metrics, teslamate and web sit on top as hooks and readers of Status.
//
// Inside, the files stand on each other, bottom to top, and refer only
// downwards: payloads.go (its requests' and events' own payloads),
// options.go, bridge.go (the Bridge and its primitives), publish.go,
// target.go, shard.go (several instances: which devices are this one's,
// who answers what), unknown.go (sets and gets for no device), memory.go
// (what the devices knew, across restarts), problems.go (the account's
// dead ends on bridge/status), discovery.go (when discovery goes out),
// sets.go, account.go, host.go (the registry's view of the bridge),
// forget.go, info.go, status.go, republish.go, problemevents.go,
// and requests.go and run.go (New and Run) on top.
package bridge
