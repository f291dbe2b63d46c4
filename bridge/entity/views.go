package entity

import (
	"reflect"
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
	// LastSeen is the time of the last successful vehicle_data read;
	// ReadVia is the route it took: ViaFleet or ViaBLE.
	LastSeen time.Time
	ReadVia  string
	// Stream is what the Fleet Telemetry stream said of the car, and when.
	Stream StreamState
	// BLE is the car's Bluetooth link, for a car with [vehicle.ble].
	BLE BLELink
}

// The routes a car's data and commands take: the state object's
// data_source and a command result's via name them.
const (
	ViaFleet = "fleet"
	ViaBLE   = "ble"
)

// BLELink is what the bridge shows of a car's Bluetooth link. The zero
// value is a car without Bluetooth: none of its rows are offered.
type BLELink struct {
	// Connected: a link is up, and the car's requests go over it.
	Connected bool
	// RSSI of the car's last beacon, in dBm; nil before one was seen.
	RSSI *int
	// BodyAt is when the body controller last told the car's sleep state,
	// locks and doors over the link (the free connectivity check).
	BodyAt time.Time
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

// MergeFields takes a partial read: what the car sent over Bluetooth
// (GetState, the body controller's state) fills only some fields of a
// block, and leaves car_version, vehicle_config and the like to the Fleet
// API. Each field the read carries replaces the view's; the others keep
// their values. Blocks are copied, never changed in place.
func (v *VehicleView) MergeFields(d *fleet.VehicleData) {
	if d == nil {
		return
	}
	overlay(&v.Data.Charge, d.Charge)
	overlay(&v.Data.Climate, d.Climate)
	overlay(&v.Data.Drive, d.Drive)
	overlay(&v.Data.Vehicle, d.Vehicle)
	overlay(&v.Data.Config, d.Config)
	overlay(&v.Data.GUI, d.GUI)
}

// TakeMotion takes the motion fields of a drive_state the car sent over
// Bluetooth as they are, absent included: the car leaves out shift_state,
// speed and power while it is parked, as vehicle_data sends them null.
// Merged field by field, the last drive's "D" and speed would stay, and
// the polling policy would read a parked car as driving for ever, keeping
// it awake. Call it only for a read that asked for the drive block.
func (v *VehicleView) TakeMotion(d *fleet.DriveStateData) {
	if d == nil {
		return
	}
	c := writable(&v.Data.Drive)
	c.ShiftState, c.Speed, c.Power = d.ShiftState, d.Speed, d.Power
}

// overlay copies *dst (a new block when there is none) and sets every
// field that src carries: the blocks' fields are all pointers or slices,
// nil when absent.
func overlay[B any](dst **B, src *B) {
	if src == nil {
		return
	}
	c := writable(dst)
	to, from := reflect.ValueOf(c).Elem(), reflect.ValueOf(src).Elem()
	for i := range from.NumField() {
		f := from.Field(i)
		switch f.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			if !f.IsNil() {
				to.Field(i).Set(f)
			}
		}
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

// The state JSON's data_source values: which way the car's data came last.
// A Fleet API read is "fleet", the word a command result's "via" uses for
// the same way (it was "poll" before Bluetooth, when the Fleet API was the
// only way to read).
const (
	SourceFleet     = "fleet"
	SourceBLE       = "ble"
	SourceTelemetry = "telemetry"
)

// SourceKeys are the state JSON's data_source (SourceFleet, SourceBLE or
// SourceTelemetry: which one updated the car's data last; a stream datum
// wins a tie) and telemetry_at (the last datum).
func (v *VehicleView) SourceKeys() (source, at any) {
	var newest time.Time
	if !v.LastSeen.IsZero() {
		source, newest = SourceFleet, v.LastSeen
		if v.ReadVia == ViaBLE {
			source = SourceBLE
		}
	}
	if b := v.BLE.BodyAt; !b.IsZero() && b.After(newest) {
		source, newest = SourceBLE, b
	}
	if !v.Stream.At.IsZero() {
		at = v.Stream.At.UTC().Format(time.RFC3339)
		if !newest.After(v.Stream.At) {
			source = SourceTelemetry
		}
	}
	return source, at
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
