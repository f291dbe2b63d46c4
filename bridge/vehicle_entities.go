package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Accessors return nil when a block is missing, so rows stay one-liners.
func charge(v *VehicleView) *fleet.ChargeStateData {
	if v == nil || v.Data.Charge == nil {
		return &fleet.ChargeStateData{}
	}
	return v.Data.Charge
}

func climate(v *VehicleView) *fleet.ClimateStateData {
	if v == nil || v.Data.Climate == nil {
		return &fleet.ClimateStateData{}
	}
	return v.Data.Climate
}

func drive(v *VehicleView) *fleet.DriveStateData {
	if v == nil || v.Data.Drive == nil {
		return &fleet.DriveStateData{}
	}
	return v.Data.Drive
}

func vstate(v *VehicleView) *fleet.VehicleStateData {
	if v == nil || v.Data.Vehicle == nil {
		return &fleet.VehicleStateData{}
	}
	return v.Data.Vehicle
}

// vehicleEntities is the car table. Units are the API's own (miles, mph,
// °C, bar, kW); Quantity lets the user's unit system convert them in one place.
var vehicleEntities = []Entity[*VehicleView]{
	// Charging.
	{Key: "battery_level", Platform: hass.Sensor, Name: "Battery", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Source: fleet.ChargeState,
		Value: func(v *VehicleView) any { return charge(v).BatteryLevel }},
	{Key: "battery_range", Platform: hass.Sensor, Name: "Range", DeviceClass: hass.DCDistance,
		StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0), Source: fleet.ChargeState,
		Value: func(v *VehicleView) any { return charge(v).BatteryRange }},
	{Key: "charging_state", Platform: hass.Sensor, Name: "Charging state", Icon: "mdi:ev-station",
		Source: fleet.ChargeState,
		Value:  func(v *VehicleView) any { return charge(v).ChargingState }},
	{Key: "charge_limit", Platform: hass.Sensor, Name: "Charge limit", Unit: "%", Icon: "mdi:battery-arrow-up",
		Source: fleet.ChargeState,
		Value:  func(v *VehicleView) any { return charge(v).ChargeLimitSOC }},
	{Key: "charger_power", Platform: hass.Sensor, Name: "Charger power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "kW", Source: fleet.ChargeState,
		Value: func(v *VehicleView) any { return charge(v).ChargerPower }},

	// Climate.
	{Key: "inside_temp", Platform: hass.Sensor, Name: "Inside temperature", DeviceClass: hass.DCTemperature,
		StateClass: hass.Measurement, Unit: "°C", Quantity: QTempC, Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).InsideTemp }},
	{Key: "outside_temp", Platform: hass.Sensor, Name: "Outside temperature", DeviceClass: hass.DCTemperature,
		StateClass: hass.Measurement, Unit: "°C", Quantity: QTempC, Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).OutsideTemp }},

	// Security and body.
	{Key: "locked", Platform: hass.BinarySensor, Name: "Doors", DeviceClass: hass.DCLock,
		Source: fleet.VehicleState,
		Value:  func(v *VehicleView) any { return vstate(v).Locked },
		// HA's lock class means on = unlocked; the state JSON keeps the
		// natural "locked": true, so the payloads are swapped here.
		Configure: func(c *hass.Component, _ Topics) { c.PayloadOn, c.PayloadOff = "False", "True" }},
	{Key: "sentry_mode", Platform: hass.BinarySensor, Name: "Sentry mode", Icon: "mdi:cctv",
		Source: fleet.VehicleState,
		Value:  func(v *VehicleView) any { return vstate(v).SentryMode }},

	// Driving and location.
	{Key: "odometer", Platform: hass.Sensor, Name: "Odometer", DeviceClass: hass.DCDistance,
		StateClass: hass.TotalIncreasing, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0), Source: fleet.VehicleState,
		Value: func(v *VehicleView) any { return vstate(v).Odometer }},
	{Key: "location", Platform: hass.DeviceTracker, Name: "Location", Icon: "mdi:car",
		Source: fleet.LocationData, Scope: "vehicle_location",
		// The tracker reads latitude/longitude/heading from the state object;
		// this key carries whether a fix is known.
		Value: func(v *VehicleView) any {
			d := drive(v)
			return d.Latitude != nil && d.Longitude != nil
		}},
	{Key: "latitude", Platform: hass.Sensor, Name: "Latitude", Icon: "mdi:latitude", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: "vehicle_location",
		Value: func(v *VehicleView) any { return drive(v).Latitude }},
	{Key: "longitude", Platform: hass.Sensor, Name: "Longitude", Icon: "mdi:longitude", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: "vehicle_location",
		Value: func(v *VehicleView) any { return drive(v).Longitude }},
	{Key: "heading", Platform: hass.Sensor, Name: "Heading", Icon: "mdi:compass", Unit: "°", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: "vehicle_location",
		Value: func(v *VehicleView) any { return drive(v).Heading }},

	// State.
	{Key: "state", Platform: hass.Sensor, Name: "Fleet state", DeviceClass: hass.DCEnum,
		Options:  []string{fleet.StateOnline, fleet.StateAsleep, fleet.StateOffline},
		Category: hass.CategoryDiagnostic, Icon: "mdi:sleep", Source: SourceBridge,
		Value: func(v *VehicleView) any {
			if v.State == "" {
				return nil
			}
			return v.State
		}},
}
