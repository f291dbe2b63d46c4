package entity

import (
	"slices"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The compiled tables, built once at start-up and shared by every device;
// nothing changes them afterwards.
var (
	vehicleTable       = Compile(slices.Concat(vehicleEntities, pairingEntities))
	vehicleBLETable    = append(slices.Clip(vehicleTable), Compile(bleEntities)...)
	siteTable          = Compile(siteEntities)
	wallConnectorTable = Compile(wallConnectorEntities)
	lastCommandRow     = Compile(lastCommandEntities)[0]
	refreshRow         = Compile(refreshEntities)[0]
)

// RefreshRow is the Refresh button of every car and site: it presses
// <base>/<device>/get, the read on request, rate-limited like the topic.
func RefreshRow() *Spec { return refreshRow }

var refreshEntities = []Entity[any]{
	{Meta: Meta{Key: "refresh", Platform: hass.Button, Name: "Refresh", Icon: "mdi:refresh", Source: SourceBridge,
		Configure: func(c *hass.Component, t Topics) { c.CommandTopic = t.State + "/get" }}},
}

// VehicleTable is every row a car may offer, before the user's and the
// token's filter. The slice is shared: callers copy it before changing it.
func VehicleTable() []*Spec { return vehicleTable }

// VehicleBLETable is the car table of a car with [vehicle.ble]: the same
// rows, shared with VehicleTable, and the Bluetooth rows after them.
func VehicleBLETable() []*Spec { return vehicleBLETable }

// WallConnectorTable is every row a Wall Connector offers.
func WallConnectorTable() []*Spec { return wallConnectorTable }

// LastCommandRow is the diagnostic row every writable device gets, whatever
// its kind: the last command's result, from the view's Diagnostics.
func LastCommandRow() *Spec { return lastCommandRow }

// pairingEntities are appended to the vehicle table. command_signing, the
// other pairing diagnostic, is already a row there and is fed by
// fleet_status as well.
var pairingEntities = []Entity[*VehicleView]{
	{Meta: Meta{Key: "key_paired", Platform: hass.BinarySensor, Name: "Virtual key paired", Icon: "mdi:key-wireless",
		Category: hass.CategoryDiagnostic, Source: SourceBridge},
		Value: func(v *VehicleView) any { return v.KeyPaired }},
}

var lastCommandEntities = []Entity[diagnosed]{
	{Meta: Meta{Key: "last_command", Platform: hass.Sensor, Name: "Last command result",
		Icon: "mdi:console-line", Category: hass.CategoryDiagnostic, Source: SourceBridge},
		Value: func(v diagnosed) any {
			if s := v.diagnostics().LastCommand; s != "" {
				return s
			}
			return nil
		}},
}

// TelemetryFields lists the signals the car table maps, sorted: what
// `telemetry configure` asks the cars to stream.
func TelemetryFields() []string {
	var out []string
	for _, r := range vehicleTable {
		if f := r.Signal(); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Endpoints is the union of the sources of a car's rows: the bridge
// fetches no more than it publishes. vehicle_config is always asked for:
// it feeds the device block (model) even without an entity.
func Endpoints(rows []*Spec) []fleet.Endpoint {
	set := map[fleet.Endpoint]bool{}
	for _, e := range rows {
		switch e.Source {
		case "", SourceBridge:
			continue
		case fleet.LocationData:
			// location_data arrives inside drive_state.
			set[fleet.DriveState] = true
		}
		set[e.Source] = true
	}
	set[fleet.VehicleConfig] = true
	out := make([]fleet.Endpoint, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// SiteTable returns the rows the site can use now: the table's rows
// whose condition in siteAvailable holds for what the site reported.
func SiteTable(s *SiteView) []*Spec {
	out := make([]*Spec, 0, len(siteTable))
	for _, r := range siteTable {
		if ok := siteAvailable[r.Key]; ok == nil || ok(s) {
			out = append(out, r)
		}
	}
	return out
}
