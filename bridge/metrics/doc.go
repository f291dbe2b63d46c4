// Package metrics is the bridge's Prometheus face: Fleet API requests and
// their estimated cost (a fleet.Recorder), command results (a contract.Hook)
// and each device's last poll and state (read from the bridge's Status at
// scrape time), on a registry of its own that /metrics serves.
package metrics
