package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

func live(s *SiteView) *fleet.LiveStatus {
	if s == nil || s.Live == nil {
		return &fleet.LiveStatus{}
	}
	return s.Live
}

// siteEntities is the energy-site table. Powers are in W and signed as the
// API signs them: battery_power > 0 discharges the battery, grid_power > 0
// imports from the grid and < 0 exports.
var siteEntities = []Entity[*SiteView]{
	{Key: "battery_level", Platform: hass.Sensor, Name: "Battery", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Precision: Ptr(1), Source: SourceLiveStatus,
		Value: func(s *SiteView) any { return live(s).PercentageCharged }},
	{Key: "solar_power", Platform: hass.Sensor, Name: "Solar power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus,
		Value: func(s *SiteView) any { return live(s).SolarPower }},
	{Key: "battery_power", Platform: hass.Sensor, Name: "Battery power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus,
		Value: func(s *SiteView) any { return live(s).BatteryPower }},
	{Key: "load_power", Platform: hass.Sensor, Name: "Load power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus,
		Value: func(s *SiteView) any { return live(s).LoadPower }},
	{Key: "grid_power", Platform: hass.Sensor, Name: "Grid power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus,
		Value: func(s *SiteView) any { return live(s).GridPower }},
	{Key: "grid_status", Platform: hass.Sensor, Name: "Grid status", Icon: "mdi:transmission-tower",
		Source: SourceLiveStatus,
		Value:  func(s *SiteView) any { return live(s).GridStatus }},
}
