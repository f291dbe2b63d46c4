package entity

import (
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The rows a car with [vehicle.ble] offers beyond the car table: whether
// the bridge's Bluetooth link is up, how strong the car's beacon is, and
// which way its data came last, so a user sees what a value cost. Cars
// without Bluetooth do not offer them: their discovery stays as it was.
var bleEntities = []Entity[*VehicleView]{
	{Meta: Meta{Key: "ble_connected", Platform: hass.BinarySensor, Name: "Bluetooth connected",
		DeviceClass: hass.DCConnectivity, Category: hass.CategoryDiagnostic, Icon: "mdi:bluetooth-connect",
		Source: SourceBridge},
		Value: func(v *VehicleView) any { return v.BLE.Connected }},
	{Meta: Meta{Key: "ble_rssi", Platform: hass.Sensor, Name: "Bluetooth signal", DeviceClass: hass.DCSignalStrength,
		StateClass: hass.Measurement, Unit: "dBm", Category: hass.CategoryDiagnostic, Icon: "mdi:bluetooth",
		Source: SourceBridge},
		Value: func(v *VehicleView) any { return v.BLE.RSSI }},
	{Meta: Meta{Key: "data_source", Platform: hass.Sensor, Name: "Data source", DeviceClass: hass.DCEnum,
		Options:  []string{SourceBLE, SourceFleet, SourceTelemetry},
		Category: hass.CategoryDiagnostic, Icon: "mdi:database-arrow-down", Source: SourceBridge},
		Value: func(v *VehicleView) any {
			s, _ := v.SourceKeys()
			return s
		}},
}
