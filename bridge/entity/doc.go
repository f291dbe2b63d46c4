// Package entity describes what the bridge publishes, as data: one typed
// table per device kind (car, energy site, Wall Connector), the views the
// rows read, the command adapters that turn MQTT payloads into Fleet API
// commands, unit conversion, the typed setters that land Fleet Telemetry
// signals in a car's data, and how a row becomes a state value and a Home
// Assistant discovery payload. It does no I/O and keeps no state: the
// tables are built once and shared by every device.
package entity
