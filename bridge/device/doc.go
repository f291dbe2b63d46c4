// Package device keeps the account's devices and reads them: which
// products become which kind of device (car, energy site, Wall Connector),
// how each kind is read on the polling economy's schedule (the cheap
// connectivity check, vehicle_data by the car's policy, live_status,
// site_info, calendar_history, fleet_status, the Fleet Telemetry stream),
// how it sends a command and confirms it, and what each device knows. It
// publishes nothing itself: it tells its Host, the bridge, what changed.
//
// A device kind is two small interfaces (family, kind) and a table in
// entity; the kinds are cars.go and vehicle*.go with package route,
// site.go and wallconnector.go. A car reaches Tesla through a route, picked per
// request: the Fleet API today, Bluetooth next.
package device
