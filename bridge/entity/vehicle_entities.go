package entity

import (
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// vehicleEntities is the car table, grouped as HA's Tesla integrations
// group their entities. Units are the API's own (miles, mph, °C, bar, kW);
// Quantity lets the user's unit system convert read-only values in one
// place. Writable temperatures stay °C (QNone): a number's command is in
// the unit it announces, and HA converts temperature numbers for display.
var vehicleEntities = keyCommands([]Entity[*VehicleView]{
	// Charging.
	{Meta: Meta{Key: "battery_level", Platform: hass.Sensor, Name: "Battery", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Source: fleet.ChargeState},
		Telemetry: onCharge("BatteryLevel", num, func(c *chargeData) **float64 { return &c.BatteryLevel }),
		Value:     func(v *VehicleView) any { return charge(v).BatteryLevel }},
	{Meta: Meta{Key: "usable_battery_level", Platform: hass.Sensor, Name: "Usable battery",
		DeviceClass: hass.DCBattery, StateClass: hass.Measurement, Unit: "%", Source: fleet.ChargeState},
		Telemetry: onCharge("Soc", num, func(c *chargeData) **float64 { return &c.UsableBatteryLevel }),
		Value:     func(v *VehicleView) any { return charge(v).UsableBatteryLevel }},
	{Meta: Meta{Key: "battery_range", Platform: hass.Sensor, Name: "Range", DeviceClass: hass.DCDistance,
		StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0),
		Source: fleet.ChargeState},
		Telemetry: onCharge("RatedRange", num, func(c *chargeData) **float64 { return &c.BatteryRange }),
		Value:     func(v *VehicleView) any { return charge(v).BatteryRange }},
	{Meta: Meta{Key: "est_battery_range", Platform: hass.Sensor, Name: "Estimated range",
		DeviceClass: hass.DCDistance, StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi,
		Precision: Ptr(0), Source: fleet.ChargeState},
		Telemetry: onCharge("EstBatteryRange", num, func(c *chargeData) **float64 { return &c.EstBatteryRange }),
		Value:     func(v *VehicleView) any { return charge(v).EstBatteryRange }},
	{Meta: Meta{Key: "ideal_battery_range", Platform: hass.Sensor, Name: "Ideal range",
		DeviceClass: hass.DCDistance, StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi,
		Precision: Ptr(0), Disabled: true, Source: fleet.ChargeState},
		Telemetry: onCharge("IdealBatteryRange", num, func(c *chargeData) **float64 { return &c.IdealBatteryRange }),
		Value:     func(v *VehicleView) any { return charge(v).IdealBatteryRange }},
	{Meta: Meta{Key: "energy_remaining", Platform: hass.Sensor, Name: "Energy remaining",
		DeviceClass: hass.DCEnergyStorage, StateClass: hass.Measurement, Unit: "kWh", Precision: Ptr(1),
		Source: fleet.ChargeState},
		Telemetry: onCharge("EnergyRemaining", num, func(c *chargeData) **float64 { return &c.EnergyRemaining }),
		Value:     func(v *VehicleView) any { return charge(v).EnergyRemaining }},
	{Meta: Meta{Key: "charging_state", Platform: hass.Sensor, Name: "Charging state",
		DeviceClass: hass.DCEnum,
		Options:     []string{"Charging", "Stopped", "Complete", "Disconnected", "Starting", "NoPower"},
		Icon:        "mdi:ev-station", Source: fleet.ChargeState},
		Telemetry: onCharge("DetailedChargeState", vtChargeState,
			func(c *chargeData) **string { return &c.ChargingState }),
		Value: func(v *VehicleView) any { return charge(v).ChargingState }},
	{Meta: Meta{Key: "charging", Platform: hass.Switch, Name: "Charging", Icon: "mdi:ev-station",
		Source: fleet.ChargeState, Group: "charging", CommandScopes: vChargeScopes},
		Command: vOnOff("charge_start", "charge_stop"),
		Value: func(v *VehicleView) any {
			s := charge(v).ChargingState
			if s == nil {
				return nil
			}
			return *s == "Charging" || *s == "Starting"
		}},
	{Meta: Meta{Key: "charge_limit", Platform: hass.Number, Name: "Charge limit",
		DeviceClass: hass.DCBattery, Unit: "%", Icon: "mdi:battery-arrow-up",
		Number: &NumberSpec{Min: 50, Max: 100, Step: 1, Mode: "slider"}, Source: fleet.ChargeState,
		Group: "charging", CommandScopes: vChargeScopes},
		Command:   intParam("set_charge_limit", "percent", vFixed(50), vFixed(100)),
		Telemetry: onCharge("ChargeLimitSoc", num, func(c *chargeData) **float64 { return &c.ChargeLimitSOC }),
		Value:     func(v *VehicleView) any { return charge(v).ChargeLimitSOC }},
	// The slider's max is static in discovery; the command checks the car's
	// own charge_current_request_max.
	{Meta: Meta{Key: "charge_current", Platform: hass.Number, Name: "Charge current",
		DeviceClass: hass.DCCurrent, Unit: "A", Icon: "mdi:current-ac",
		Number: &NumberSpec{Min: 1, Max: vAmpsFallback, Step: 1, Mode: "slider"}, Source: fleet.ChargeState,
		Group: "charging", CommandScopes: vChargeScopes},
		Command: intParam("set_charging_amps", "charging_amps", vFixed(1), vAmpsMax),
		Telemetry: onCharge("ChargeCurrentRequest", num,
			func(c *chargeData) **float64 { return &c.ChargeCurrentRequest }),
		Value: func(v *VehicleView) any { return charge(v).ChargeCurrentRequest }},
	{Meta: Meta{Key: "charger_power", Platform: hass.Sensor, Name: "Charger power",
		DeviceClass: hass.DCPower, StateClass: hass.Measurement, Unit: "kW", Source: fleet.ChargeState},
		Telemetry: onCharge("ACChargingPower", num, func(c *chargeData) **float64 { return &c.ChargerPower }),
		Value:     func(v *VehicleView) any { return charge(v).ChargerPower }},
	{Meta: Meta{Key: "charger_voltage", Platform: hass.Sensor, Name: "Charger voltage",
		DeviceClass: hass.DCVoltage, StateClass: hass.Measurement, Unit: "V", Source: fleet.ChargeState},
		Telemetry: onCharge("ChargerVoltage", num, func(c *chargeData) **float64 { return &c.ChargerVoltage }),
		Value:     func(v *VehicleView) any { return charge(v).ChargerVoltage }},
	{Meta: Meta{Key: "charger_actual_current", Platform: hass.Sensor, Name: "Charger current",
		DeviceClass: hass.DCCurrent, StateClass: hass.Measurement, Unit: "A", Source: fleet.ChargeState},
		Telemetry: onCharge("ChargeAmps", num, func(c *chargeData) **float64 { return &c.ChargerActualCurrent }),
		Value:     func(v *VehicleView) any { return charge(v).ChargerActualCurrent }},
	{Meta: Meta{Key: "charger_phases", Platform: hass.Sensor, Name: "Charger phases", Icon: "mdi:sine-wave",
		Category: hass.CategoryDiagnostic, Source: fleet.ChargeState},
		Telemetry: onCharge("ChargerPhases", num, func(c *chargeData) **float64 { return &c.ChargerPhases }),
		Value:     func(v *VehicleView) any { return charge(v).ChargerPhases }},
	// Resets to 0 with every session: total_increasing reads that as a new
	// meter cycle, which is exactly right for energy statistics.
	{Meta: Meta{Key: "charge_energy_added", Platform: hass.Sensor, Name: "Charge energy added",
		DeviceClass: hass.DCEnergy, StateClass: hass.TotalIncreasing, Unit: "kWh", Precision: Ptr(2),
		Source: fleet.ChargeState},
		Telemetry: onCharge("ACChargingEnergyIn", num, func(c *chargeData) **float64 { return &c.ChargeEnergyAdded }),
		Value:     func(v *VehicleView) any { return charge(v).ChargeEnergyAdded }},
	{Meta: Meta{Key: "charge_rate", Platform: hass.Sensor, Name: "Charge rate", DeviceClass: hass.DCSpeed,
		StateClass: hass.Measurement, Unit: "mph", Quantity: QSpeedMph, Icon: "mdi:speedometer",
		Source: fleet.ChargeState},
		Value: func(v *VehicleView) any { return charge(v).ChargeRate }},
	{Meta: Meta{Key: "time_to_full_charge", Platform: hass.Sensor, Name: "Time to full charge",
		DeviceClass: hass.DCDuration, StateClass: hass.Measurement, Unit: "h", Precision: Ptr(2),
		Source: fleet.ChargeState},
		Telemetry: onCharge("TimeToFullCharge", num, func(c *chargeData) **float64 { return &c.TimeToFullCharge }),
		Value:     func(v *VehicleView) any { return charge(v).TimeToFullCharge }},
	{Meta: Meta{Key: "charge_port_door", Platform: hass.Cover, Name: "Charge port door",
		DeviceClass: hass.DCCoverDoor, Icon: "mdi:ev-plug-ccs2", Source: fleet.ChargeState, Group: "charging",
		CommandScopes: vChargeScopes, Configure: vChargePortConfigure},
		Command:   openClose[*VehicleView]("charge_port_door_open", "charge_port_door_close"),
		Telemetry: onCharge("ChargePortDoorOpen", flag, func(c *chargeData) **bool { return &c.ChargePortDoorOpen }),
		Value:     func(v *VehicleView) any { return charge(v).ChargePortDoorOpen }},
	{Meta: Meta{Key: "charge_port_latch", Platform: hass.Sensor, Name: "Charge port latch",
		Icon: "mdi:lock-outline", Category: hass.CategoryDiagnostic, Source: fleet.ChargeState},
		Telemetry: onCharge("ChargePortLatch", vtLatch, func(c *chargeData) **string { return &c.ChargePortLatch }),
		Value:     func(v *VehicleView) any { return charge(v).ChargePortLatch }},
	{Meta: Meta{Key: "charge_cable", Platform: hass.BinarySensor, Name: "Charge cable",
		DeviceClass: hass.DCPlug, Source: fleet.ChargeState},
		Value: func(v *VehicleView) any {
			c := charge(v).ConnChargeCable
			if c == nil {
				return nil
			}
			return *c != "" && *c != "<invalid>"
		}},
	{Meta: Meta{Key: "fast_charger_present", Platform: hass.BinarySensor, Name: "Fast charger",
		DeviceClass: hass.DCPlug, Icon: "mdi:ev-station", Source: fleet.ChargeState},
		Telemetry: onCharge("FastChargerPresent", flag, func(c *chargeData) **bool { return &c.FastChargerPresent }),
		Value:     func(v *VehicleView) any { return charge(v).FastChargerPresent }},
	{Meta: Meta{Key: "scheduled_charging_mode", Platform: hass.Sensor, Name: "Scheduled charging",
		DeviceClass: hass.DCEnum, Options: []string{"Off", "StartAt", "DepartBy"},
		Icon: "mdi:calendar-clock", Source: fleet.ChargeState},
		Telemetry: onCharge("ScheduledChargingMode", vtSchedMode,
			func(c *chargeData) **string { return &c.ScheduledChargingMode }),
		Value: func(v *VehicleView) any { return charge(v).ScheduledChargingMode }},
	{Meta: Meta{Key: "scheduled_charging_start_time", Platform: hass.Sensor,
		Name: "Scheduled charging start", DeviceClass: hass.DCTimestamp, Icon: "mdi:calendar-clock",
		Source: fleet.ChargeState},
		Value: func(v *VehicleView) any { return vEpoch(charge(v).ScheduledChargingStart) }},
	{Meta: Meta{Key: "scheduled_charging_pending", Platform: hass.BinarySensor,
		Name: "Scheduled charging pending", Icon: "mdi:calendar-clock", Source: fleet.ChargeState},
		Telemetry: onCharge("ScheduledChargingPending", flag,
			func(c *chargeData) **bool { return &c.ScheduledChargingPending }),
		Value: func(v *VehicleView) any { return charge(v).ScheduledChargingPending }},

	// Climate.
	{Meta: Meta{Key: "climate", Platform: hass.Climate, Name: "Climate", Icon: "mdi:fan",
		Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Configure: vClimateConfigure},
		Command: modeSwitch[*VehicleView]("heat_cool", "auto_conditioning_start", "auto_conditioning_stop"),
		Value:   vClimateValue},
	{Meta: Meta{Key: "inside_temp", Platform: hass.Sensor, Name: "Inside temperature",
		DeviceClass: hass.DCTemperature, StateClass: hass.Measurement, Unit: "°C", Quantity: QTempC,
		Source: fleet.ClimateState},
		Telemetry: onClimate("InsideTemp", num, func(c *climateData) **float64 { return &c.InsideTemp }),
		Value:     func(v *VehicleView) any { return climate(v).InsideTemp }},
	{Meta: Meta{Key: "outside_temp", Platform: hass.Sensor, Name: "Outside temperature",
		DeviceClass: hass.DCTemperature, StateClass: hass.Measurement, Unit: "°C", Quantity: QTempC,
		Source: fleet.ClimateState},
		Telemetry: onClimate("OutsideTemp", num, func(c *climateData) **float64 { return &c.OutsideTemp }),
		Value:     func(v *VehicleView) any { return climate(v).OutsideTemp }},
	{Meta: Meta{Key: "driver_temp", Platform: hass.Number, Name: "Driver temperature setting",
		DeviceClass: hass.DCTemperature, Unit: "°C",
		Number: &NumberSpec{Min: vTempMin, Max: vTempMax, Step: vTempStep, Mode: "box"},
		Icon:   "mdi:thermostat", Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes},
		Command: vSetTemps(true),
		Telemetry: onClimate("HvacLeftTemperatureRequest", num,
			func(c *climateData) **float64 { return &c.DriverTempSetting }),
		Value: func(v *VehicleView) any { return climate(v).DriverTempSetting }},
	{Meta: Meta{Key: "passenger_temp", Platform: hass.Number, Name: "Passenger temperature setting",
		DeviceClass: hass.DCTemperature, Unit: "°C",
		Number: &NumberSpec{Min: vTempMin, Max: vTempMax, Step: vTempStep, Mode: "box"},
		Icon:   "mdi:thermostat", Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes},
		Command: vSetTemps(false),
		Telemetry: onClimate("HvacRightTemperatureRequest", num,
			func(c *climateData) **float64 { return &c.PassengerTempSetting }),
		Value: func(v *VehicleView) any { return climate(v).PassengerTempSetting }},
	{Meta: Meta{Key: "is_climate_on", Platform: hass.BinarySensor, Name: "Climate on",
		DeviceClass: hass.DCRunning, Icon: "mdi:fan", Source: fleet.ClimateState},
		Value: func(v *VehicleView) any { return climate(v).IsClimateOn }},
	{Meta: Meta{Key: "is_preconditioning", Platform: hass.BinarySensor, Name: "Preconditioning",
		DeviceClass: hass.DCRunning, Icon: "mdi:heat-wave", Source: fleet.ClimateState},
		Value: func(v *VehicleView) any { return climate(v).IsPreconditioning }},
	// defrost_mode: 0 off, 1 normal, 2 max.
	{Meta: Meta{Key: "max_defrost", Platform: hass.Switch, Name: "Max defrost",
		Icon: "mdi:car-defrost-front", Source: fleet.ClimateState, Group: "climate",
		CommandScopes: vCmdScopes},
		Command: vOnOffParam("set_preconditioning_max", "on", map[string]any{"manual_override": true}),
		Value:   func(v *VehicleView) any { return vNonZero(climate(v).DefrostMode) }},
	{Meta: Meta{Key: "front_defroster", Platform: hass.BinarySensor, Name: "Front defroster",
		DeviceClass: hass.DCRunning, Icon: "mdi:car-defrost-front", Source: fleet.ClimateState},
		Value: func(v *VehicleView) any { return climate(v).IsFrontDefrosterOn }},
	{Meta: Meta{Key: "rear_defroster", Platform: hass.BinarySensor, Name: "Rear defroster",
		DeviceClass: hass.DCRunning, Icon: "mdi:car-defrost-rear", Source: fleet.ClimateState},
		Value: func(v *VehicleView) any { return climate(v).IsRearDefrosterOn }},
	withT(vSeatHeater("seat_heater_left", "Seat heater front left", 0,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterLeft }),
		onClimate("SeatHeaterLeft", num, func(c *climateData) **float64 { return &c.SeatHeaterLeft })),
	withT(vSeatHeater("seat_heater_right", "Seat heater front right", 1,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRight }),
		onClimate("SeatHeaterRight", num, func(c *climateData) **float64 { return &c.SeatHeaterRight })),
	withT(vSeatHeater("seat_heater_rear_left", "Seat heater rear left", 2,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRearLeft }),
		onClimate("SeatHeaterRearLeft", num, func(c *climateData) **float64 { return &c.SeatHeaterRearLeft })),
	withT(vSeatHeater("seat_heater_rear_center", "Seat heater rear center", 4,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRearCenter }),
		onClimate("SeatHeaterRearCenter", num, func(c *climateData) **float64 { return &c.SeatHeaterRearCenter })),
	withT(vSeatHeater("seat_heater_rear_right", "Seat heater rear right", 5,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRearRight }),
		onClimate("SeatHeaterRearRight", num, func(c *climateData) **float64 { return &c.SeatHeaterRearRight })),
	{Meta: Meta{Key: "steering_wheel_heater", Platform: hass.Switch, Name: "Steering wheel heater",
		Icon: "mdi:steering", Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes},
		Command: vOnOffParam("remote_steering_wheel_heater_request", "on", nil),
		Value:   func(v *VehicleView) any { return climate(v).SteeringWheelHeater }},
	{Meta: Meta{Key: "climate_keeper_mode", Platform: hass.Select, Name: "Climate keeper mode",
		Icon: "mdi:dog-side", Options: choiceOptions(vKeeperChoices), Source: fleet.ClimateState,
		Group: "climate", CommandScopes: vCmdScopes},
		Command: vChoice("set_climate_keeper_mode", map[string]any{"manual_override": true}, vKeeperChoices),
		Telemetry: onClimate("ClimateKeeperMode", vtKeeper,
			func(c *climateData) **string { return &c.ClimateKeeperMode }),
		Value: func(v *VehicleView) any {
			m := climate(v).ClimateKeeperMode
			if m == nil {
				return nil
			}
			if *m == "on" { // older firmware's name for keep
				return "keep"
			}
			return strings.ToLower(*m)
		}},
	{Meta: Meta{Key: "cabin_overheat_protection", Platform: hass.Select, Name: "Cabin overheat protection",
		Icon: "mdi:sun-thermometer", Category: hass.CategoryConfig, Options: choiceOptions(vCOPChoices),
		Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes},
		Command: vChoice("set_cabin_overheat_protection", nil, vCOPChoices),
		Telemetry: onClimate("CabinOverheatProtectionMode", vtCOP,
			func(c *climateData) **string { return &c.CabinOverheatProtection }),
		Value: func(v *VehicleView) any {
			switch p := climate(v).CabinOverheatProtection; {
			case p == nil:
				return nil
			case *p == "FanOnly":
				return "fan_only"
			default:
				return strings.ToLower(*p)
			}
		}},
	{Meta: Meta{Key: "battery_heater", Platform: hass.BinarySensor, Name: "Battery heater",
		DeviceClass: hass.DeviceClass("heat"), Icon: "mdi:heating-coil", Source: fleet.ClimateState},
		Value: func(v *VehicleView) any { return climate(v).BatteryHeater }},
	{Meta: Meta{Key: "fan_status", Platform: hass.Sensor, Name: "Fan speed", Icon: "mdi:fan",
		Disabled: true, Category: hass.CategoryDiagnostic, Source: fleet.ClimateState},
		Value: func(v *VehicleView) any { return climate(v).FanStatus }},

	// Security and body.
	{Meta: Meta{Key: "locked", Platform: hass.Lock, Name: "Doors", Source: fleet.VehicleState,
		Group: "lock", CommandScopes: vCmdScopes, GroupOf: vLockGroup},
		Command:   lockUnlock[*VehicleView]("door_lock", "door_unlock"),
		Telemetry: onVehicle("Locked", flag, func(c *vehicleData) **bool { return &c.Locked }),
		Value:     func(v *VehicleView) any { return vstate(v).Locked }},
	{Meta: Meta{Key: "sentry_mode", Platform: hass.Switch, Name: "Sentry mode", Icon: "mdi:cctv",
		Source: fleet.VehicleState, Group: "sentry", CommandScopes: vCmdScopes},
		Command:   vOnOffParam("set_sentry_mode", "on", nil),
		Telemetry: onVehicle("SentryMode", vtSentry, func(c *vehicleData) **bool { return &c.SentryMode }),
		Value:     func(v *VehicleView) any { return vstate(v).SentryMode }},
	withT(vDoor("door_front_left", "Front driver door", func(s *fleet.VehicleStateData) *float64 { return s.DriverFront }),
		vtDoors),
	withT(vDoor("door_rear_left", "Rear driver door", func(s *fleet.VehicleStateData) *float64 { return s.DriverRear }),
		vtDoors),
	withT(vDoor("door_front_right", "Front passenger door",
		func(s *fleet.VehicleStateData) *float64 { return s.PassengerFront }),
		vtDoors),
	withT(vDoor("door_rear_right", "Rear passenger door",
		func(s *fleet.VehicleStateData) *float64 { return s.PassengerRear }),
		vtDoors),
	withT(vWindow("window_front_left", "Front driver window", func(s *fleet.VehicleStateData) *float64 { return s.FdWindow }),
		onVehicle("FdWindow", vtWindow, func(c *vehicleData) **float64 { return &c.FdWindow })),
	withT(vWindow("window_front_right", "Front passenger window",
		func(s *fleet.VehicleStateData) *float64 { return s.FpWindow }),
		onVehicle("FpWindow", vtWindow, func(c *vehicleData) **float64 { return &c.FpWindow })),
	withT(vWindow("window_rear_left", "Rear driver window", func(s *fleet.VehicleStateData) *float64 { return s.RdWindow }),
		onVehicle("RdWindow", vtWindow, func(c *vehicleData) **float64 { return &c.RdWindow })),
	withT(vWindow("window_rear_right", "Rear passenger window",
		func(s *fleet.VehicleStateData) *float64 { return s.RpWindow }),
		onVehicle("RpWindow", vtWindow, func(c *vehicleData) **float64 { return &c.RpWindow })),
	{Meta: Meta{Key: "frunk", Platform: hass.BinarySensor, Name: "Frunk", DeviceClass: hass.DCOpening,
		Icon: "mdi:car-select", Source: fleet.VehicleState},
		Telemetry: vtDoors,
		Value:     func(v *VehicleView) any { return vNonZero(vstate(v).FrontTrunk) }},
	{Meta: Meta{Key: "trunk", Platform: hass.BinarySensor, Name: "Trunk", DeviceClass: hass.DCOpening,
		Icon: "mdi:car-back", Source: fleet.VehicleState},
		Telemetry: vtDoors,
		Value:     func(v *VehicleView) any { return vNonZero(vstate(v).RearTrunk) }},
	{Meta: Meta{Key: "open_frunk", Platform: hass.Button, Name: "Open frunk", Icon: "mdi:car-select",
		Source: fleet.VehicleState, Group: "trunk", CommandScopes: vCmdScopes},
		Command: vPress("actuate_trunk", map[string]any{"which_trunk": "front"})},
	// actuate_trunk rear opens a closed trunk and closes an open powered one.
	{Meta: Meta{Key: "open_trunk", Platform: hass.Button, Name: "Open/close trunk", Icon: "mdi:car-back",
		Source: fleet.VehicleState, Group: "trunk", CommandScopes: vCmdScopes},
		Command: vPress("actuate_trunk", map[string]any{"which_trunk": "rear"})},
	{Meta: Meta{Key: "vent_windows", Platform: hass.Button, Name: "Vent windows",
		Icon: "mdi:window-open-variant", Source: fleet.VehicleState, Group: "windows",
		CommandScopes: vCmdScopes},
		Command: pressWith("window_control", vWindowParams("vent"))},
	{Meta: Meta{Key: "close_windows", Platform: hass.Button, Name: "Close windows",
		Icon: "mdi:window-closed-variant", Source: fleet.VehicleState, Group: "windows",
		CommandScopes: vCmdScopes},
		Command: pressWith("window_control", vWindowParams("close"))},
	{Meta: Meta{Key: "user_present", Platform: hass.BinarySensor, Name: "User present",
		DeviceClass: hass.DCPresence, Icon: "mdi:account", Source: fleet.VehicleState},
		Value: func(v *VehicleView) any { return vstate(v).IsUserPresent }},
	{Meta: Meta{Key: "valet_mode", Platform: hass.BinarySensor, Name: "Valet mode",
		Icon: "mdi:account-tie-hat", Source: fleet.VehicleState},
		Telemetry: onVehicle("ValetModeEnabled", flag, func(c *vehicleData) **bool { return &c.ValetMode }),
		Value:     func(v *VehicleView) any { return vstate(v).ValetMode }},

	// Driving and location. Without vehicle_location Tesla drops the whole
	// drive_state (FLEET_API §3.1), so every drive_state row needs the scope.
	{Meta: Meta{Key: "location", Platform: hass.DeviceTracker, Name: "Location", Icon: "mdi:car",
		Source: fleet.LocationData, Scope: vLocScope},
		Telemetry: vtLocation,
		// The tracker reads latitude/longitude/heading from the state object;
		// this key carries whether a fix is known.
		Value: func(v *VehicleView) any {
			d := drive(v)
			return d.Latitude != nil && d.Longitude != nil
		}},
	{Meta: Meta{Key: "latitude", Platform: hass.Sensor, Name: "Latitude", Icon: "mdi:latitude",
		Disabled: true, Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: vLocScope},
		Telemetry: vtLocation,
		Value:     func(v *VehicleView) any { return drive(v).Latitude }},
	{Meta: Meta{Key: "longitude", Platform: hass.Sensor, Name: "Longitude", Icon: "mdi:longitude",
		Disabled: true, Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: vLocScope},
		Telemetry: vtLocation,
		Value:     func(v *VehicleView) any { return drive(v).Longitude }},
	{Meta: Meta{Key: "heading", Platform: hass.Sensor, Name: "Heading", Icon: "mdi:compass", Unit: "°",
		Disabled: true, Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: vLocScope},
		Telemetry: onDrive("GpsHeading", num, func(c *driveData) **float64 { return &c.Heading }),
		Value:     func(v *VehicleView) any { return drive(v).Heading }},
	// shift_state is null while parked: that is P, not unknown.
	{Meta: Meta{Key: "shift_state", Platform: hass.Sensor, Name: "Shift state", DeviceClass: hass.DCEnum,
		Options: []string{"P", "R", "N", "D"}, Icon: "mdi:car-shift-pattern", Source: fleet.DriveState,
		Scope: vLocScope},
		Telemetry: onDrive("Gear", vtGear, func(c *driveData) **string { return &c.ShiftState }),
		Value: func(v *VehicleView) any {
			if !vDriveKnown(v) {
				return nil
			}
			if s := drive(v).ShiftState; s != nil && *s != "" {
				return *s
			}
			return "P"
		}},
	// speed is null while parked: that is 0, not unknown.
	{Meta: Meta{Key: "speed", Platform: hass.Sensor, Name: "Speed", DeviceClass: hass.DCSpeed,
		StateClass: hass.Measurement, Unit: "mph", Quantity: QSpeedMph, Precision: Ptr(0),
		Source: fleet.DriveState, Scope: vLocScope},
		Telemetry: onDrive("VehicleSpeed", num, func(c *driveData) **float64 { return &c.Speed }),
		Value: func(v *VehicleView) any {
			if !vDriveKnown(v) {
				return nil
			}
			if s := drive(v).Speed; s != nil {
				return *s
			}
			return 0.0
		}},
	{Meta: Meta{Key: "power", Platform: hass.Sensor, Name: "Power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "kW", Source: fleet.DriveState, Scope: vLocScope},
		Value: func(v *VehicleView) any { return drive(v).Power }},
	{Meta: Meta{Key: "odometer", Platform: hass.Sensor, Name: "Odometer", DeviceClass: hass.DCDistance,
		StateClass: hass.TotalIncreasing, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0),
		Source: fleet.VehicleState},
		Telemetry: onVehicle("Odometer", num, func(c *vehicleData) **float64 { return &c.Odometer }),
		Value:     func(v *VehicleView) any { return vstate(v).Odometer }},
	{Meta: Meta{Key: "route_destination", Platform: hass.Sensor, Name: "Navigation destination",
		Icon: "mdi:map-marker", Source: fleet.LocationData, Scope: vLocScope},
		Telemetry: onDrive("DestinationName", text, func(c *driveData) **string { return &c.ActiveRouteDestination }),
		Value:     func(v *VehicleView) any { return vTrimmed(drive(v).ActiveRouteDestination) }},
	{Meta: Meta{Key: "route_minutes_to_arrival", Platform: hass.Sensor, Name: "Time to arrival",
		DeviceClass: hass.DCDuration, StateClass: hass.Measurement, Unit: "min", Precision: Ptr(0),
		Source: fleet.DriveState, Scope: vLocScope},
		Telemetry: onDrive("MinutesToArrival", num,
			func(c *driveData) **float64 { return &c.ActiveRouteMinutesToArrival }),
		Value: func(v *VehicleView) any { return drive(v).ActiveRouteMinutesToArrival }},
	{Meta: Meta{Key: "route_miles_to_arrival", Platform: hass.Sensor, Name: "Distance to arrival",
		DeviceClass: hass.DCDistance, StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi,
		Precision: Ptr(1), Source: fleet.DriveState, Scope: vLocScope},
		Telemetry: onDrive("MilesToArrival", num,
			func(c *driveData) **float64 { return &c.ActiveRouteMilesToArrival }),
		Value: func(v *VehicleView) any { return drive(v).ActiveRouteMilesToArrival }},
	// active_route_energy_at_arrival is the battery % at the destination
	// (as HA's Tesla Fleet integration reads it).
	{Meta: Meta{Key: "route_energy_at_arrival", Platform: hass.Sensor, Name: "Battery at arrival",
		DeviceClass: hass.DCBattery, StateClass: hass.Measurement, Unit: "%", Precision: Ptr(0),
		Source: fleet.DriveState, Scope: vLocScope},
		Telemetry: onDrive("ExpectedEnergyPercentAtTripArrival", num,
			func(c *driveData) **float64 { return &c.ActiveRouteEnergyAtArrival }),
		Value: func(v *VehicleView) any { return drive(v).ActiveRouteEnergyAtArrival }},

	// State.
	{Meta: Meta{Key: "software_version", Platform: hass.Sensor, Name: "Software version",
		Icon: "mdi:update", Category: hass.CategoryDiagnostic, Source: fleet.VehicleState},
		Telemetry: onVehicle("Version", text, func(c *vehicleData) **string { return &c.CarVersion }),
		Value: func(v *VehicleView) any {
			c := vTrimmed(vstate(v).CarVersion)
			if c == nil {
				return nil
			}
			return strings.Fields(c.(string))[0]
		}},
	{Meta: Meta{Key: "software_update_available", Platform: hass.BinarySensor, Name: "Software update",
		DeviceClass: hass.DCUpdate, Source: fleet.VehicleState},
		Value: func(v *VehicleView) any {
			if vstate(v).SoftwareUpdate == nil {
				return nil
			}
			return vTrimmed(swUpdate(v).Status) != nil
		}},
	{Meta: Meta{Key: "software_update_version", Platform: hass.Sensor, Name: "Software update version",
		Icon: "mdi:update", Category: hass.CategoryDiagnostic, Source: fleet.VehicleState},
		Value: func(v *VehicleView) any { return vTrimmed(swUpdate(v).Version) }},
	withT(vTyre("tpms_pressure_fl", "Tyre pressure front left",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureFL }),
		onVehicle("TpmsPressureFl", num, func(c *vehicleData) **float64 { return &c.TpmsPressureFL })),
	withT(vTyre("tpms_pressure_fr", "Tyre pressure front right",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureFR }),
		onVehicle("TpmsPressureFr", num, func(c *vehicleData) **float64 { return &c.TpmsPressureFR })),
	withT(vTyre("tpms_pressure_rl", "Tyre pressure rear left",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureRL }),
		onVehicle("TpmsPressureRl", num, func(c *vehicleData) **float64 { return &c.TpmsPressureRL })),
	withT(vTyre("tpms_pressure_rr", "Tyre pressure rear right",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureRR }),
		onVehicle("TpmsPressureRr", num, func(c *vehicleData) **float64 { return &c.TpmsPressureRR })),
	{Meta: Meta{Key: "state", Platform: hass.Sensor, Name: "Fleet state", DeviceClass: hass.DCEnum,
		Options:  []string{fleet.StateOnline, fleet.StateAsleep, fleet.StateOffline},
		Category: hass.CategoryDiagnostic, Icon: "mdi:sleep", Source: SourceBridge},
		Value: func(v *VehicleView) any {
			if v.State == "" {
				return nil
			}
			return v.State
		}},
	{Meta: Meta{Key: "last_seen", Platform: hass.Sensor, Name: "Last seen", DeviceClass: hass.DCTimestamp,
		Category: hass.CategoryDiagnostic, Icon: "mdi:clock-check-outline", Source: SourceBridge},
		Value: func(v *VehicleView) any {
			if v.LastSeen.IsZero() {
				return nil
			}
			return v.LastSeen.UTC().Format(time.RFC3339)
		}},

	// Actions. wake_up is special to the pipeline: it wakes and returns.
	// Flash and honk change no data block: SourceBridge, no read after them.
	{Meta: Meta{Key: "wake_up", Platform: hass.Button, Name: "Wake up", Icon: "mdi:sleep-off",
		Source: SourceBridge, Group: "wake", CommandScopes: vCmdScopes},
		Command: vPress("wake_up", nil)},
	{Meta: Meta{Key: "flash_lights", Platform: hass.Button, Name: "Flash lights",
		Icon: "mdi:car-light-high", Source: SourceBridge, Group: "horn_lights", CommandScopes: vCmdScopes},
		Command: vPress("flash_lights", nil)},
	{Meta: Meta{Key: "honk_horn", Platform: hass.Button, Name: "Honk horn", Icon: "mdi:bullhorn",
		Source: SourceBridge, Group: "horn_lights", CommandScopes: vCmdScopes},
		Command: vPress("honk_horn", nil)},

	// Diagnostics.
	{Meta: Meta{Key: "command_signing", Platform: hass.Sensor, Name: "Command signing",
		Icon: "mdi:key-chain", Category: hass.CategoryDiagnostic, Source: SourceBridge},
		Value: func(v *VehicleView) any {
			if v.CommandSigning == "" {
				return nil
			}
			return v.CommandSigning
		}},
})
