package entity

import (
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Views are what the rows of a table read: one per device kind. The
// bridge keeps one view per device and changes it under its lock; blocks
// of Fleet data in a view are replaced whole, never changed in place, so a
// shallow copy of a view is a consistent snapshot.

// Diagnostics are the values the bridge itself keeps about every device,
// whatever its kind; each view embeds them so the shared rows
// (last_command) read them like any other value.
type Diagnostics struct {
	// LastCommand sums up the last command's result ("" before the first).
	LastCommand string
}

func (d *Diagnostics) diagnostics() *Diagnostics { return d }

// diagnosed is every view: what the shared rows read.
type diagnosed interface{ diagnostics() *Diagnostics }

// VehicleView is what vehicle entities read: the newest copy of every
// vehicle_data block, plus what the bridge knows itself. Blocks are replaced
// whole by newer ones and kept when a read did not return them, so a sleeping
// car keeps its last known values.
type VehicleView struct {
	Diagnostics
	VIN         string
	DisplayName string
	// State is the Fleet state: online, asleep or offline.
	State string
	// CommandSigning is "required", "allowed" or "off" as far as known.
	CommandSigning string
	// KeyPaired is whether the app's virtual key is paired with the car
	// (fleet_status); nil until known.
	KeyPaired *bool
	Data      fleet.VehicleData
	// LastSeen is the time of the last successful vehicle_data read.
	LastSeen time.Time
	// Stream is what the Fleet Telemetry stream said of the car, and when.
	Stream StreamState
}

// Merge takes the blocks a read returned and keeps the others.
func (v *VehicleView) Merge(d *fleet.VehicleData) {
	if d == nil {
		return
	}
	if d.DisplayName != "" {
		v.DisplayName = d.DisplayName
	}
	if d.Charge != nil {
		v.Data.Charge = d.Charge
	}
	if d.Climate != nil {
		v.Data.Climate = d.Climate
	}
	if d.Drive != nil {
		v.Data.Drive = d.Drive
	}
	if d.Vehicle != nil {
		v.Data.Vehicle = d.Vehicle
	}
	if d.Config != nil {
		v.Data.Config = d.Config
	}
	if d.GUI != nil {
		v.Data.GUI = d.GUI
	}
}

// StreamState is what the Fleet Telemetry stream said of a car.
type StreamState struct {
	// At is when the last datum was applied to the car's data.
	At time.Time
	// Signal is when the stream last said anything live about the car.
	Signal time.Time
	// Disconnected: the car's last connectivity record was DISCONNECTED.
	Disconnected bool
}

// Alive reports whether the stream said something live within quiet (and
// not that the car disconnected): while it does, polling the car's
// vehicle_data is pointless.
func (s StreamState) Alive(now time.Time, quiet time.Duration) bool {
	return !s.Signal.IsZero() && !s.Disconnected && now.Sub(s.Signal) < quiet
}

// SourceKeys are the state JSON's data_source ("telemetry" or "poll":
// which one updated the car's data last) and telemetry_at (the last datum).
func (v *VehicleView) SourceKeys() (source, at any) {
	if !v.Stream.At.IsZero() {
		at = v.Stream.At.UTC().Format(time.RFC3339)
		if !v.LastSeen.After(v.Stream.At) {
			return "telemetry", at
		}
	}
	if !v.LastSeen.IsZero() {
		return "poll", at
	}
	return nil, at
}

// Car activities that pick a vehicle_data schedule and TeslaMate's state.
const (
	ModeDriving  = "driving"
	ModeCharging = "charging"
	ModeIdle     = "idle"
)

// Mode tells what the car is doing from its last known data.
func Mode(d *fleet.VehicleData) string {
	if dr := d.Drive; dr != nil {
		if dr.ShiftState != nil && (*dr.ShiftState == "D" || *dr.ShiftState == "R" || *dr.ShiftState == "N") {
			return ModeDriving
		}
		if dr.Speed != nil && *dr.Speed > 0 {
			return ModeDriving
		}
	}
	if c := d.Charge; c != nil && c.ChargingState != nil {
		if s := *c.ChargingState; s == "Charging" || s == "Starting" {
			return ModeCharging
		}
	}
	return ModeIdle
}

// SiteView is what energy-site entities read.
type SiteView struct {
	Diagnostics
	ID   int64
	Name string
	Live *fleet.LiveStatus
	Info *fleet.SiteInfo
	// Components are the products entry's components: the site's
	// capabilities until site_info has been read.
	Components *fleet.SiteComponents
	// Totals are today's energy counters from calendar_history.
	Totals SiteTotals
}

// WallConnectorView is what Wall Connector entities read: the site's view
// and the connector's DIN.
type WallConnectorView struct {
	Diagnostics
	Site *SiteView
	DIN  string
}

// DiagnosticsOf returns the bridge's own values kept in a view, nil for a
// value that is no view of a table here.
func DiagnosticsOf(view any) *Diagnostics {
	if d, ok := view.(diagnosed); ok {
		return d.diagnostics()
	}
	return nil
}
