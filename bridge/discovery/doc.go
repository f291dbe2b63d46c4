// Package discovery builds the bridge's Home Assistant discovery and
// remembers what it offered, so that rows no longer offered are removed and
// a device moves between the per-entity and the device-based layout once,
// by HA's migrate_discovery protocol, sending through whatever queue the
// core hands it.
package discovery
