// Package hass holds typed Home Assistant MQTT discovery payloads. It is pure
// data: no I/O, no Tesla words. Full key names are used on purpose (see
// HA_DISCOVERY.md §17): abbreviations save nothing that matters here.
package hass

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Platform is an HA MQTT component ("sensor", "switch"…).
type Platform string

// The platforms the bridge publishes.
const (
	Sensor        Platform = "sensor"
	BinarySensor  Platform = "binary_sensor"
	Switch        Platform = "switch"
	Number        Platform = "number"
	Select        Platform = "select"
	Button        Platform = "button"
	Lock          Platform = "lock"
	Climate       Platform = "climate"
	Cover         Platform = "cover"
	DeviceTracker Platform = "device_tracker"
	Update        Platform = "update"
	Text          Platform = "text"
)

// Writable reports whether entities of this platform accept commands.
func (p Platform) Writable() bool {
	switch p {
	case Switch, Number, Select, Button, Lock, Climate, Cover, Text:
		return true
	}
	return false
}

// DeviceClass is an HA device class; which ones are valid depends on the platform.
type DeviceClass string

// Device classes used by the bridge (HA_DISCOVERY.md §15).
const (
	DCNone          DeviceClass = ""
	DCBattery       DeviceClass = "battery"
	DCPower         DeviceClass = "power"
	DCEnergy        DeviceClass = "energy"
	DCEnergyStorage DeviceClass = "energy_storage"
	DCDistance      DeviceClass = "distance"
	DCSpeed         DeviceClass = "speed"
	DCTemperature   DeviceClass = "temperature"
	DCPressure      DeviceClass = "pressure"
	DCCurrent       DeviceClass = "current"
	DCVoltage       DeviceClass = "voltage"
	DCDuration      DeviceClass = "duration"
	DCTimestamp     DeviceClass = "timestamp"
	DCEnum          DeviceClass = "enum"
	DCMonetary      DeviceClass = "monetary"
	// DCSignalStrength is a radio's received signal, in dB or dBm.
	DCSignalStrength DeviceClass = "signal_strength"
	// binary_sensor classes
	DCConnectivity   DeviceClass = "connectivity"
	DCDoor           DeviceClass = "door"
	DCWindow         DeviceClass = "window"
	DCOpening        DeviceClass = "opening"
	DCLock           DeviceClass = "lock"
	DCPlug           DeviceClass = "plug"
	DCPresence       DeviceClass = "presence"
	DCProblem        DeviceClass = "problem"
	DCRunning        DeviceClass = "running"
	DCUpdate         DeviceClass = "update"
	DCBatteryCharged DeviceClass = "battery_charging"
	DCSafety         DeviceClass = "safety"
	DCPowerBinary    DeviceClass = "power"
	// button classes
	DCIdentify DeviceClass = "identify"
	DCRestart  DeviceClass = "restart"
	// switch class
	DCSwitch DeviceClass = "switch"
	// cover classes
	DCCoverDoor DeviceClass = "door"
	// update class
	DCFirmware DeviceClass = "firmware"
)

// StateClass is a sensor state class.
type StateClass string

// Sensor state classes.
const (
	SCNone           StateClass = ""
	Measurement      StateClass = "measurement"
	Total            StateClass = "total"
	TotalIncreasing  StateClass = "total_increasing"
	MeasurementAngle StateClass = "measurement_angle"
)

// EntityCategory is "config", "diagnostic" or empty.
type EntityCategory string

// Entity categories. Config is only valid for writable platforms.
const (
	CategoryNone       EntityCategory = ""
	CategoryConfig     EntityCategory = "config"
	CategoryDiagnostic EntityCategory = "diagnostic"
)

// Device is the device block of a discovery payload.
type Device struct {
	Identifiers      []string `json:"identifiers"`
	Name             string   `json:"name,omitempty"`
	Manufacturer     string   `json:"manufacturer,omitempty"`
	Model            string   `json:"model,omitempty"`
	ModelID          string   `json:"model_id,omitempty"`
	SerialNumber     string   `json:"serial_number,omitempty"`
	SWVersion        string   `json:"sw_version,omitempty"`
	HWVersion        string   `json:"hw_version,omitempty"`
	ViaDevice        string   `json:"via_device,omitempty"`
	ConfigurationURL string   `json:"configuration_url,omitempty"`
}

// Origin is the origin block of a discovery payload.
type Origin struct {
	Name       string `json:"name"`
	SWVersion  string `json:"sw_version,omitempty"`
	SupportURL string `json:"support_url,omitempty"`
}

// Availability is one item of the availability list.
type Availability struct {
	Topic               string `json:"topic"`
	PayloadAvailable    string `json:"payload_available,omitempty"`
	PayloadNotAvailable string `json:"payload_not_available,omitempty"`
	ValueTemplate       string `json:"value_template,omitempty"`
}

// Component is one single-component discovery payload. Fields that do not
// apply to a platform stay zero and are omitted.
type Component struct {
	Platform Platform `json:"-"`

	Name             *string         `json:"name,omitempty"`
	UniqueID         string          `json:"unique_id"`
	DefaultEntityID  string          `json:"default_entity_id,omitempty"`
	ObjectID         string          `json:"object_id,omitempty"`
	Device           *Device         `json:"device,omitempty"`
	Origin           *Origin         `json:"origin,omitempty"`
	Availability     []Availability  `json:"availability,omitempty"`
	AvailabilityMode string          `json:"availability_mode,omitempty"`
	DeviceClass      DeviceClass     `json:"device_class,omitempty"`
	StateClass       StateClass      `json:"state_class,omitempty"`
	EntityCategory   EntityCategory  `json:"entity_category,omitempty"`
	Icon             string          `json:"icon,omitempty"`
	EnabledByDefault *bool           `json:"enabled_by_default,omitempty"`
	Unit             string          `json:"unit_of_measurement,omitempty"`
	DisplayPrecision *int            `json:"suggested_display_precision,omitempty"`
	StateTopic       string          `json:"state_topic,omitempty"`
	ValueTemplate    string          `json:"value_template,omitempty"`
	JSONAttrTopic    string          `json:"json_attributes_topic,omitempty"`
	JSONAttrTemplate string          `json:"json_attributes_template,omitempty"`
	CommandTopic     string          `json:"command_topic,omitempty"`
	CommandTemplate  string          `json:"command_template,omitempty"`
	PayloadOn        string          `json:"payload_on,omitempty"`
	PayloadOff       string          `json:"payload_off,omitempty"`
	StateOn          string          `json:"state_on,omitempty"`
	StateOff         string          `json:"state_off,omitempty"`
	PayloadPress     string          `json:"payload_press,omitempty"`
	PayloadLock      string          `json:"payload_lock,omitempty"`
	PayloadUnlock    string          `json:"payload_unlock,omitempty"`
	StateLocked      string          `json:"state_locked,omitempty"`
	StateUnlocked    string          `json:"state_unlocked,omitempty"`
	PayloadOpen      string          `json:"payload_open,omitempty"`
	PayloadClose     string          `json:"payload_close,omitempty"`
	PayloadStop      *string         `json:"payload_stop,omitempty"`
	StateOpen        string          `json:"state_open,omitempty"`
	StateClosed      string          `json:"state_closed,omitempty"`
	Options          []string        `json:"options,omitempty"`
	Min              *float64        `json:"min,omitempty"`
	Max              *float64        `json:"max,omitempty"`
	Step             *float64        `json:"step,omitempty"`
	Mode             string          `json:"mode,omitempty"`
	SourceType       string          `json:"source_type,omitempty"`
	ExpireAfter      int             `json:"expire_after,omitempty"`
	Climate          *ClimateOptions `json:"-"`
	Extra            map[string]any  `json:"-"`
}

// ClimateOptions are the climate-specific keys.
type ClimateOptions struct {
	Modes                      []string `json:"modes"`
	ModeCommandTopic           string   `json:"mode_command_topic,omitempty"`
	ModeCommandTemplate        string   `json:"mode_command_template,omitempty"`
	ModeStateTopic             string   `json:"mode_state_topic,omitempty"`
	ModeStateTemplate          string   `json:"mode_state_template,omitempty"`
	TemperatureCommandTopic    string   `json:"temperature_command_topic,omitempty"`
	TemperatureCommandTemplate string   `json:"temperature_command_template,omitempty"`
	TemperatureStateTopic      string   `json:"temperature_state_topic,omitempty"`
	TemperatureStateTemplate   string   `json:"temperature_state_template,omitempty"`
	CurrentTemperatureTopic    string   `json:"current_temperature_topic,omitempty"`
	CurrentTemperatureTemplate string   `json:"current_temperature_template,omitempty"`
	MinTemp                    *float64 `json:"min_temp,omitempty"`
	MaxTemp                    *float64 `json:"max_temp,omitempty"`
	TempStep                   *float64 `json:"temp_step,omitempty"`
	Precision                  *float64 `json:"precision,omitempty"`
	TemperatureUnit            string   `json:"temperature_unit,omitempty"`
}

// MarshalJSON merges the climate options and Extra into the flat payload.
func (c Component) MarshalJSON() ([]byte, error) {
	type plain Component
	base, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	if c.Climate == nil && len(c.Extra) == 0 {
		return base, nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	if c.Climate != nil {
		cb, err := json.Marshal(c.Climate)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(cb, &m); err != nil {
			return nil, err
		}
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

var idPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidID reports whether s may be used as a node_id or object_id in a discovery topic.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ConfigTopic returns <prefix>/<platform>/<objectID>/config. The object id must be
// a valid ID (HA drops anything else with a warning).
func ConfigTopic(prefix string, p Platform, objectID string) (string, error) {
	if !ValidID(objectID) {
		return "", fmt.Errorf("hass: invalid object id %q", objectID)
	}
	return prefix + "/" + string(p) + "/" + objectID + "/config", nil
}

// Ptr returns a pointer to v; a helper for the optional fields above.
func Ptr[T any](v T) *T { return &v }
