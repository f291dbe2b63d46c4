package entity

import (
	"math"
	"reflect"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Entity is one row of a device table: everything the bridge needs to know
// about one entity, from the Fleet field that feeds it to the HA discovery
// metadata and, for writable entities, the command it becomes. Discovery,
// state publishing, command routing and the vehicle_data endpoint list are
// all loops over these rows; nothing entity-specific lives outside the tables.
//
// A row has two halves: Meta, the fixed settings every device of the kind
// shares, and the three functions typed by the view D the row reads. Compile
// erases D once per table, so a device keeps pointers to shared rows, never
// copies of them.
type Entity[D any] struct {
	Meta
	// Value extracts the value; a nil result (or typed nil pointer) means absent.
	Value func(D) any
	// Command turns an MQTT payload into a Fleet API command; nil = read-only.
	Command CommandFunc[D]
	// Telemetry names the Fleet Telemetry signal that also feeds the entity
	// and how a received value lands in the device's data; the zero value:
	// polling only.
	Telemetry Telemetry[D]
}

// Meta are the fixed settings of a row, the same for every device of the
// kind.
type Meta struct {
	// Key is the stable snake_case id: JSON key in the state object, unique_id
	// suffix and set/<key> topic segment. Never rename a key: it is a contract.
	Key         string
	Platform    hass.Platform
	Name        string
	DeviceClass hass.DeviceClass
	StateClass  hass.StateClass
	// Unit is the unit of the value as Value returns it (the API's native unit).
	Unit string
	// Quantity says how to convert the value when the user asks for metric
	// or imperial units; QNone means never convert.
	Quantity  Quantity
	Precision *int
	Icon      string
	Category  hass.EntityCategory
	// Source is the data block that feeds the entity: a vehicle_data endpoint
	// for cars, a SiteSource for energy sites, or SourceBridge for values the
	// bridge itself knows (Fleet state, last result…).
	Source fleet.Endpoint
	// Scope is the OAuth scope needed to read the entity (empty: none beyond
	// the device's data scope); without it the entity is not offered.
	Scope string
	// CommandScopes are the scopes the command needs (any one of them).
	CommandScopes []string
	// Group is the command group for [commands] allow/deny: charging,
	// climate, lock, unlock, sentry, trunk, windows, horn_lights, wake,
	// remote_start, energy. A row may refine it per value (door_unlock is
	// "unlock" while door_lock is "lock") through GroupOf.
	Group string
	// GroupOf, if set, picks the group from the command about to run.
	GroupOf func(c fleet.Command) string
	Number  *NumberSpec
	Options []string
	// Disabled entities are discovered with enabled_by_default=false.
	Disabled bool
	// Configure adjusts the discovery payload for platforms with special keys
	// (climate, lock, cover, device_tracker…). It runs after the generic fields.
	Configure func(c *hass.Component, t Topics)
}

// CommandFunc turns the value of a set message (a string, float64 or bool as
// decoded from JSON, or the bare payload string) into a Fleet API command.
// It sees the device's current data because some commands need it (the car's
// position for window_control, the other seat's temperature for set_temps).
// It returns a *PayloadError for input it refuses.
type CommandFunc[D any] func(value any, d D) (fleet.Command, error)

// NumberSpec is the range of a number entity.
type NumberSpec struct {
	Min, Max, Step float64
	Mode           string // auto, box, slider
}

// Topics are the MQTT topics of one device, handed to Configure.
type Topics struct {
	State        string // <base>/<device>
	Availability string // <base>/<device>/availability
	Set          string // <base>/<device>/set
	Bridge       string // <base>/bridge/state
}

// SetTopic returns the set topic of one entity key.
func (t Topics) SetTopic(key string) string { return t.Set + "/" + key }

// SourceBridge marks entities whose value the bridge computes itself.
const SourceBridge fleet.Endpoint = "bridge"

// Sources of energy-site entities.
const (
	SourceLiveStatus fleet.Endpoint = "live_status"
	SourceSiteInfo   fleet.Endpoint = "site_info"
	SourceHistory    fleet.Endpoint = "calendar_history"
)

// Quantity names a physical quantity for unit conversion.
type Quantity int

// Quantities the bridge converts between unit systems.
const (
	QNone        Quantity = iota
	QDistanceMi           // miles ↔ km
	QSpeedMph             // mph ↔ km/h
	QTempC                // °C ↔ °F
	QPressureBar          // bar ↔ psi
)

// present normalises an accessor result: typed nil pointers become nil and
// pointers are dereferenced, so encoding sees plain values or nil.
func present(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil
	}
	return v
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }
