// Package telemetry reads Fleet Telemetry (FLEET_API.md §6.3) as Tesla's
// fleet-telemetry server publishes it with its MQTT dispatcher:
//
//	<topic_base>/<VIN>/v/<Field>            one JSON value per signal
//	<topic_base>/<VIN>/connectivity         {"ConnectionId","Status":"CONNECTED|DISCONNECTED","CreatedAt"}
//	<topic_base>/<VIN>/alerts/<name>/current|history
//	<topic_base>/<VIN>/errors/<name>
//
// It meters every datum, decodes it into an entity.TelemetryValue and hands
// it to a Sink (the bridge's cars), which lands it in the car's data
// through the car table's typed setters: streamed and polled values merge
// per field, the newest wins. Values are taken in the units the rows
// already use (miles, mph, °C, bar, kW, kWh, hours, minutes), which is
// what the car streams whatever its display units; enums become
// vehicle_data's words. Retained messages are ignored: their age is
// unknown, and the start-up poll fills the car anyway.
package telemetry
