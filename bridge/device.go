package bridge

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// VehicleView is what vehicle entities read: the newest copy of every
// vehicle_data block, plus what the bridge knows itself. Blocks are replaced
// whole by newer ones and kept when a read did not return them, so a sleeping
// car keeps its last known values.
type VehicleView struct {
	VIN         string
	DisplayName string
	// State is the Fleet state: online, asleep or offline.
	State string
	// CommandSigning is "required", "allowed" or "off" as far as known.
	CommandSigning string
	// KeyPaired is whether the app's virtual key is paired with the car
	// (fleet_status); nil until known.
	KeyPaired *bool
	// keyRecheckUntil: after a key_not_paired result, pairing is re-checked
	// until then so the entity turns on soon after the user pairs;
	// keyCheckedAt paces those checks (pairing.go).
	keyRecheckUntil, keyCheckedAt time.Time
	Data                          fleet.VehicleData
	// missingBlocks are the asked-for blocks the last read lacked (drift.go).
	missingBlocks string
	// LastSeen is the time of the last successful vehicle_data read.
	LastSeen time.Time
	// Stream is what the Fleet Telemetry stream said of the car, and when.
	Stream StreamState
}

// merge takes the blocks a read returned and keeps the others.
func (v *VehicleView) merge(d *fleet.VehicleData) {
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

// SiteView is what energy-site entities read.
type SiteView struct {
	ID   int64
	Name string
	Live *fleet.LiveStatus
	Info *fleet.SiteInfo
	// Components are the products entry's components: the site's
	// capabilities until site_info has been read.
	Components *fleet.SiteComponents
	// Totals are today's energy counters from calendar_history.
	Totals SiteTotals
	// primed is set when discover read the site and no poll has published
	// it since, so the first poll does not pay for the same reads again.
	primed bool
	// wallConnectors are the site's Wall Connector devices, by DIN.
	wallConnectors map[string]*device
}

// binding is a table row bound to one device: the generic parts of Entity
// closed over the device's view, so the publishing code needs no generics.
type binding struct {
	key         string
	platform    hass.Platform
	name        string
	deviceClass hass.DeviceClass
	stateClass  hass.StateClass
	unit        string
	quantity    Quantity
	precision   *int
	icon        string
	category    hass.EntityCategory
	source      fleet.Endpoint
	scope       string
	number      *NumberSpec
	options     []string
	disabled    bool
	configure   func(*hass.Component, Topics)
	writable    bool
	value       func() any
	command     func(v any) (fleet.Command, error)
	cmdScopes   []string
	group       string
	groupOf     func(fleet.Command) string
	telemetry   telemetryBinding
}

// bind closes the rows of a table over a view getter.
func bind[D any](rows []Entity[D], view func() D) []binding {
	out := make([]binding, 0, len(rows))
	for _, r := range rows {
		r := r
		b := binding{
			key: r.Key, platform: r.Platform, name: r.Name, deviceClass: r.DeviceClass,
			stateClass: r.StateClass, unit: r.Unit, quantity: r.Quantity, precision: r.Precision,
			icon: r.Icon, category: r.Category, source: r.Source, scope: r.Scope, number: r.Number,
			options: r.Options, disabled: r.Disabled, configure: r.Configure,
			writable: r.Command != nil, cmdScopes: r.CommandScopes, group: r.Group, groupOf: r.GroupOf,
			telemetry: r.Telemetry.bind(view),
		}
		if r.Value != nil {
			b.value = func() any { return present(r.Value(view())) }
		} else {
			b.value = func() any { return nil }
		}
		if r.Command != nil {
			b.command = func(v any) (fleet.Command, error) { return r.Command(v, view()) }
		}
		out = append(out, b)
	}
	return out
}

// deviceKind tells cars from energy sites.
type deviceKind int

const (
	kindVehicle deviceKind = iota
	kindSite
)

// device is one bridged car or site. All fields are guarded by Bridge.mu.
type device struct {
	kind deviceKind
	// name is the topic segment: the configured name, else the VIN or site id.
	name string
	// uid is the id used in unique_ids: the VIN or the site id.
	uid      string
	vehicle  *VehicleView
	site     *SiteView
	entities []binding
	// hassDevice is the HA device block; rebuilt when the model or firmware changes.
	hassDevice hass.Device
	// updatedAt is the time of the last successful read of any kind.
	updatedAt time.Time
	// lastState is the last state payload published, to publish on change only.
	lastState []byte
	// lastDiscovery remembers which discovery topics were published.
	lastDiscovery map[string][]byte
	// available is false when the bridge cannot serve the device.
	available bool
	// lastError is the last Fleet error for this device ("" after a success).
	lastError string
	// queue feeds the device's command worker (nil until the first command).
	queue chan job
	// stopWorker ends the worker when the device leaves the account.
	stopWorker chan struct{}
	// cmdTimes are the start times of recent commands, for the rate limit.
	cmdTimes []time.Time
	// lastResult is the last command result, for the diagnostic entity.
	lastResult *Result
	// parent is the energy site of a Wall Connector (nil otherwise).
	parent *device
}

// writable reports whether the device has any entity that takes commands.
func (d *device) writable() bool {
	for _, e := range d.entities {
		if e.command != nil {
			return true
		}
	}
	return false
}

// all returns the table's entities plus the bridge's own diagnostics of the
// device (the last command result), which exist for every device kind.
func (d *device) all() []binding {
	out := make([]binding, 0, len(d.entities)+1)
	out = append(out, d.entities...)
	if !d.writable() {
		return out
	}
	return append(out, binding{
		key: "last_command", platform: hass.Sensor, name: "Last command result",
		icon: "mdi:console-line", category: hass.CategoryDiagnostic, source: SourceBridge,
		value: func() any {
			r := d.lastResult
			if r == nil {
				return nil
			}
			s := r.Key + ": " + r.Status
			if r.Error != nil {
				s += " (" + r.Error.Code + ")"
			}
			return s
		},
	})
}

// stateJSON builds the device's state object: every entity key (null when
// absent, so HA templates render None = unknown: one null policy), plus
// state and updated_at.
func (d *device) stateJSON(units string) ([]byte, error) {
	m := make(map[string]any, len(d.entities)+3)
	for _, e := range d.all() {
		if e.platform == hass.Button {
			continue // a button has no state
		}
		v := e.value()
		if f, ok := v.(float64); ok && e.quantity != QNone {
			v = convert(e.quantity, units, f)
		}
		m[e.key] = v
	}
	if d.vehicle != nil {
		m["state"] = d.vehicle.State
		m["data_source"], m["telemetry_at"] = d.vehicle.sourceKeys()
	} else {
		m["state"] = "online"
	}
	if !d.updatedAt.IsZero() {
		m["updated_at"] = d.updatedAt.UTC().Format(time.RFC3339)
	} else {
		m["updated_at"] = nil
	}
	return json.Marshal(m)
}

// entity returns the binding of a key, or nil.
func (d *device) entity(key string) *binding {
	for i := range d.entities {
		if d.entities[i].key == key {
			return &d.entities[i]
		}
	}
	return nil
}
