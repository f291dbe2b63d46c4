package bridge

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
	{Key: "battery_level", Platform: hass.Sensor, Name: "Battery", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Source: fleet.ChargeState,
		Telemetry: vt("BatteryLevel", "charge_state.battery_level"),
		Value:     func(v *VehicleView) any { return charge(v).BatteryLevel }},
	{Key: "usable_battery_level", Platform: hass.Sensor, Name: "Usable battery", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Source: fleet.ChargeState,
		Telemetry: vt("Soc", "charge_state.usable_battery_level"),
		Value:     func(v *VehicleView) any { return charge(v).UsableBatteryLevel }},
	{Key: "battery_range", Platform: hass.Sensor, Name: "Range", DeviceClass: hass.DCDistance,
		StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0), Source: fleet.ChargeState,
		Telemetry: vt("RatedRange", "charge_state.battery_range"),
		Value:     func(v *VehicleView) any { return charge(v).BatteryRange }},
	{Key: "est_battery_range", Platform: hass.Sensor, Name: "Estimated range", DeviceClass: hass.DCDistance,
		StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0), Source: fleet.ChargeState,
		Telemetry: vt("EstBatteryRange", "charge_state.est_battery_range"),
		Value:     func(v *VehicleView) any { return charge(v).EstBatteryRange }},
	{Key: "ideal_battery_range", Platform: hass.Sensor, Name: "Ideal range", DeviceClass: hass.DCDistance,
		StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0), Disabled: true,
		Source: fleet.ChargeState, Telemetry: vt("IdealBatteryRange", "charge_state.ideal_battery_range"),
		Value: func(v *VehicleView) any { return charge(v).IdealBatteryRange }},
	{Key: "energy_remaining", Platform: hass.Sensor, Name: "Energy remaining", DeviceClass: hass.DCEnergyStorage,
		StateClass: hass.Measurement, Unit: "kWh", Precision: Ptr(1), Source: fleet.ChargeState,
		Telemetry: vt("EnergyRemaining", "charge_state.energy_remaining"),
		Value:     func(v *VehicleView) any { return charge(v).EnergyRemaining }},
	{Key: "charging_state", Platform: hass.Sensor, Name: "Charging state", DeviceClass: hass.DCEnum,
		Options: []string{"Charging", "Stopped", "Complete", "Disconnected", "Starting", "NoPower"},
		Icon:    "mdi:ev-station", Source: fleet.ChargeState,
		Telemetry: vt("DetailedChargeState", "charge_state.charging_state", vtChargeState),
		Value:     func(v *VehicleView) any { return charge(v).ChargingState }},
	{Key: "charging", Platform: hass.Switch, Name: "Charging", Icon: "mdi:ev-station",
		Source: fleet.ChargeState, Group: "charging", CommandScopes: vChargeScopes,
		Command: vOnOff("charge_start", "charge_stop"),
		Value: func(v *VehicleView) any {
			s := charge(v).ChargingState
			if s == nil {
				return nil
			}
			return *s == "Charging" || *s == "Starting"
		}},
	{Key: "charge_limit", Platform: hass.Number, Name: "Charge limit", DeviceClass: hass.DCBattery, Unit: "%",
		Icon: "mdi:battery-arrow-up", Number: &NumberSpec{Min: 50, Max: 100, Step: 1, Mode: "slider"},
		Source: fleet.ChargeState, Group: "charging", CommandScopes: vChargeScopes,
		Command:   intParam("set_charge_limit", "percent", vFixed(50), vFixed(100)),
		Telemetry: vt("ChargeLimitSoc", "charge_state.charge_limit_soc"),
		Value:     func(v *VehicleView) any { return charge(v).ChargeLimitSOC }},
	// The slider's max is static in discovery; the command checks the car's
	// own charge_current_request_max.
	{Key: "charge_current", Platform: hass.Number, Name: "Charge current", DeviceClass: hass.DCCurrent, Unit: "A",
		Icon: "mdi:current-ac", Number: &NumberSpec{Min: 1, Max: vAmpsFallback, Step: 1, Mode: "slider"},
		Source: fleet.ChargeState, Group: "charging", CommandScopes: vChargeScopes,
		Command:   intParam("set_charging_amps", "charging_amps", vFixed(1), vAmpsMax),
		Telemetry: vt("ChargeCurrentRequest", "charge_state.charge_current_request"),
		Value:     func(v *VehicleView) any { return charge(v).ChargeCurrentRequest }},
	{Key: "charger_power", Platform: hass.Sensor, Name: "Charger power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "kW", Source: fleet.ChargeState,
		Telemetry: vt("ACChargingPower", "charge_state.charger_power"),
		Value:     func(v *VehicleView) any { return charge(v).ChargerPower }},
	{Key: "charger_voltage", Platform: hass.Sensor, Name: "Charger voltage", DeviceClass: hass.DCVoltage,
		StateClass: hass.Measurement, Unit: "V", Source: fleet.ChargeState,
		Telemetry: vt("ChargerVoltage", "charge_state.charger_voltage"),
		Value:     func(v *VehicleView) any { return charge(v).ChargerVoltage }},
	{Key: "charger_actual_current", Platform: hass.Sensor, Name: "Charger current", DeviceClass: hass.DCCurrent,
		StateClass: hass.Measurement, Unit: "A", Source: fleet.ChargeState,
		Telemetry: vt("ChargeAmps", "charge_state.charger_actual_current"),
		Value:     func(v *VehicleView) any { return charge(v).ChargerActualCurrent }},
	{Key: "charger_phases", Platform: hass.Sensor, Name: "Charger phases", Icon: "mdi:sine-wave",
		Category: hass.CategoryDiagnostic, Source: fleet.ChargeState,
		Telemetry: vt("ChargerPhases", "charge_state.charger_phases"),
		Value:     func(v *VehicleView) any { return charge(v).ChargerPhases }},
	// Resets to 0 with every session: total_increasing reads that as a new
	// meter cycle, which is exactly right for energy statistics.
	{Key: "charge_energy_added", Platform: hass.Sensor, Name: "Charge energy added", DeviceClass: hass.DCEnergy,
		StateClass: hass.TotalIncreasing, Unit: "kWh", Precision: Ptr(2), Source: fleet.ChargeState,
		Telemetry: vt("ACChargingEnergyIn", "charge_state.charge_energy_added"),
		Value:     func(v *VehicleView) any { return charge(v).ChargeEnergyAdded }},
	{Key: "charge_rate", Platform: hass.Sensor, Name: "Charge rate", DeviceClass: hass.DCSpeed,
		StateClass: hass.Measurement, Unit: "mph", Quantity: QSpeedMph, Icon: "mdi:speedometer",
		Source: fleet.ChargeState, Value: func(v *VehicleView) any { return charge(v).ChargeRate }},
	{Key: "time_to_full_charge", Platform: hass.Sensor, Name: "Time to full charge", DeviceClass: hass.DCDuration,
		StateClass: hass.Measurement, Unit: "h", Precision: Ptr(2), Source: fleet.ChargeState,
		Telemetry: vt("TimeToFullCharge", "charge_state.time_to_full_charge"),
		Value:     func(v *VehicleView) any { return charge(v).TimeToFullCharge }},
	{Key: "charge_port_door", Platform: hass.Cover, Name: "Charge port door", DeviceClass: hass.DCCoverDoor,
		Icon: "mdi:ev-plug-ccs2", Source: fleet.ChargeState, Group: "charging", CommandScopes: vChargeScopes,
		Command:   openClose[*VehicleView]("charge_port_door_open", "charge_port_door_close"),
		Telemetry: vt("ChargePortDoorOpen", "charge_state.charge_port_door_open"),
		Value:     func(v *VehicleView) any { return charge(v).ChargePortDoorOpen },
		Configure: func(c *hass.Component, _ Topics) {
			c.PayloadOpen, c.PayloadClose = "OPEN", "CLOSE"
			c.StateOpen, c.StateClosed = "True", "False"
			// The door cannot stop half-way: no stop button.
			c.Extra = map[string]any{"payload_stop": nil}
		}},
	{Key: "charge_port_latch", Platform: hass.Sensor, Name: "Charge port latch", Icon: "mdi:lock-outline",
		Category: hass.CategoryDiagnostic, Source: fleet.ChargeState,
		Telemetry: vt("ChargePortLatch", "charge_state.charge_port_latch", vtLatch),
		Value:     func(v *VehicleView) any { return charge(v).ChargePortLatch }},
	{Key: "charge_cable", Platform: hass.BinarySensor, Name: "Charge cable", DeviceClass: hass.DCPlug,
		Source: fleet.ChargeState,
		Value: func(v *VehicleView) any {
			c := charge(v).ConnChargeCable
			if c == nil {
				return nil
			}
			return *c != "" && *c != "<invalid>"
		}},
	{Key: "fast_charger_present", Platform: hass.BinarySensor, Name: "Fast charger", DeviceClass: hass.DCPlug,
		Icon: "mdi:ev-station", Source: fleet.ChargeState,
		Telemetry: vt("FastChargerPresent", "charge_state.fast_charger_present"),
		Value:     func(v *VehicleView) any { return charge(v).FastChargerPresent }},
	{Key: "scheduled_charging_mode", Platform: hass.Sensor, Name: "Scheduled charging", DeviceClass: hass.DCEnum,
		Options: []string{"Off", "StartAt", "DepartBy"}, Icon: "mdi:calendar-clock", Source: fleet.ChargeState,
		Telemetry: vt("ScheduledChargingMode", "charge_state.scheduled_charging_mode", vtSchedMode),
		Value:     func(v *VehicleView) any { return charge(v).ScheduledChargingMode }},
	{Key: "scheduled_charging_start_time", Platform: hass.Sensor, Name: "Scheduled charging start",
		DeviceClass: hass.DCTimestamp, Icon: "mdi:calendar-clock", Source: fleet.ChargeState,
		Value: func(v *VehicleView) any { return vEpoch(charge(v).ScheduledChargingStart) }},
	{Key: "scheduled_charging_pending", Platform: hass.BinarySensor, Name: "Scheduled charging pending",
		Icon: "mdi:calendar-clock", Source: fleet.ChargeState,
		Telemetry: vt("ScheduledChargingPending", "charge_state.scheduled_charging_pending"),
		Value:     func(v *VehicleView) any { return charge(v).ScheduledChargingPending }},

	// Climate.
	{Key: "climate", Platform: hass.Climate, Name: "Climate", Icon: "mdi:fan",
		Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Command:   modeSwitch[*VehicleView]("heat_cool", "auto_conditioning_start", "auto_conditioning_stop"),
		Value:     vClimateValue,
		Configure: vClimateConfigure},
	{Key: "inside_temp", Platform: hass.Sensor, Name: "Inside temperature", DeviceClass: hass.DCTemperature,
		StateClass: hass.Measurement, Unit: "°C", Quantity: QTempC, Source: fleet.ClimateState,
		Telemetry: vt("InsideTemp", "climate_state.inside_temp"),
		Value:     func(v *VehicleView) any { return climate(v).InsideTemp }},
	{Key: "outside_temp", Platform: hass.Sensor, Name: "Outside temperature", DeviceClass: hass.DCTemperature,
		StateClass: hass.Measurement, Unit: "°C", Quantity: QTempC, Source: fleet.ClimateState,
		Telemetry: vt("OutsideTemp", "climate_state.outside_temp"),
		Value:     func(v *VehicleView) any { return climate(v).OutsideTemp }},
	{Key: "driver_temp", Platform: hass.Number, Name: "Driver temperature setting", DeviceClass: hass.DCTemperature,
		Unit: "°C", Number: &NumberSpec{Min: vTempMin, Max: vTempMax, Step: vTempStep, Mode: "box"},
		Icon: "mdi:thermostat", Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Command:   vSetTemps(true),
		Telemetry: vt("HvacLeftTemperatureRequest", "climate_state.driver_temp_setting"),
		Value:     func(v *VehicleView) any { return climate(v).DriverTempSetting }},
	{Key: "passenger_temp", Platform: hass.Number, Name: "Passenger temperature setting",
		DeviceClass: hass.DCTemperature, Unit: "°C",
		Number: &NumberSpec{Min: vTempMin, Max: vTempMax, Step: vTempStep, Mode: "box"},
		Icon:   "mdi:thermostat", Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Command:   vSetTemps(false),
		Telemetry: vt("HvacRightTemperatureRequest", "climate_state.passenger_temp_setting"),
		Value:     func(v *VehicleView) any { return climate(v).PassengerTempSetting }},
	{Key: "is_climate_on", Platform: hass.BinarySensor, Name: "Climate on", DeviceClass: hass.DCRunning,
		Icon: "mdi:fan", Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).IsClimateOn }},
	{Key: "is_preconditioning", Platform: hass.BinarySensor, Name: "Preconditioning", DeviceClass: hass.DCRunning,
		Icon: "mdi:heat-wave", Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).IsPreconditioning }},
	// defrost_mode: 0 off, 1 normal, 2 max.
	{Key: "max_defrost", Platform: hass.Switch, Name: "Max defrost", Icon: "mdi:car-defrost-front",
		Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Command: vOnOffParam("set_preconditioning_max", "on", map[string]any{"manual_override": true}),
		Value:   func(v *VehicleView) any { return vNonZero(climate(v).DefrostMode) }},
	{Key: "front_defroster", Platform: hass.BinarySensor, Name: "Front defroster", DeviceClass: hass.DCRunning,
		Icon: "mdi:car-defrost-front", Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).IsFrontDefrosterOn }},
	{Key: "rear_defroster", Platform: hass.BinarySensor, Name: "Rear defroster", DeviceClass: hass.DCRunning,
		Icon: "mdi:car-defrost-rear", Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).IsRearDefrosterOn }},
	withT(vSeatHeater("seat_heater_left", "Seat heater front left", 0,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterLeft }),
		vt("SeatHeaterLeft", "climate_state.seat_heater_left")),
	withT(vSeatHeater("seat_heater_right", "Seat heater front right", 1,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRight }),
		vt("SeatHeaterRight", "climate_state.seat_heater_right")),
	withT(vSeatHeater("seat_heater_rear_left", "Seat heater rear left", 2,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRearLeft }),
		vt("SeatHeaterRearLeft", "climate_state.seat_heater_rear_left")),
	withT(vSeatHeater("seat_heater_rear_center", "Seat heater rear center", 4,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRearCenter }),
		vt("SeatHeaterRearCenter", "climate_state.seat_heater_rear_center")),
	withT(vSeatHeater("seat_heater_rear_right", "Seat heater rear right", 5,
		func(c *fleet.ClimateStateData) *float64 { return c.SeatHeaterRearRight }),
		vt("SeatHeaterRearRight", "climate_state.seat_heater_rear_right")),
	{Key: "steering_wheel_heater", Platform: hass.Switch, Name: "Steering wheel heater", Icon: "mdi:steering",
		Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Command: vOnOffParam("remote_steering_wheel_heater_request", "on", nil),
		Value:   func(v *VehicleView) any { return climate(v).SteeringWheelHeater }},
	{Key: "climate_keeper_mode", Platform: hass.Select, Name: "Climate keeper mode", Icon: "mdi:dog-side",
		Options: choiceOptions(vKeeperChoices), Source: fleet.ClimateState, Group: "climate",
		CommandScopes: vCmdScopes,
		Command:       vChoice("set_climate_keeper_mode", map[string]any{"manual_override": true}, vKeeperChoices),
		Telemetry:     vt("ClimateKeeperMode", "climate_state.climate_keeper_mode", vtKeeper),
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
	{Key: "cabin_overheat_protection", Platform: hass.Select, Name: "Cabin overheat protection",
		Icon: "mdi:sun-thermometer", Category: hass.CategoryConfig, Options: choiceOptions(vCOPChoices),
		Source: fleet.ClimateState, Group: "climate", CommandScopes: vCmdScopes,
		Command:   vChoice("set_cabin_overheat_protection", nil, vCOPChoices),
		Telemetry: vt("CabinOverheatProtectionMode", "climate_state.cabin_overheat_protection", vtCOP),
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
	{Key: "battery_heater", Platform: hass.BinarySensor, Name: "Battery heater", DeviceClass: hass.DeviceClass("heat"),
		Icon: "mdi:heating-coil", Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).BatteryHeater }},
	{Key: "fan_status", Platform: hass.Sensor, Name: "Fan speed", Icon: "mdi:fan", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.ClimateState,
		Value: func(v *VehicleView) any { return climate(v).FanStatus }},

	// Security and body.
	{Key: "locked", Platform: hass.Lock, Name: "Doors", Source: fleet.VehicleState,
		Group: "lock", CommandScopes: vCmdScopes,
		GroupOf: func(c fleet.Command) string {
			if c.Name == "door_unlock" {
				return "unlock"
			}
			return "lock"
		},
		Command:   lockUnlock[*VehicleView]("door_lock", "door_unlock"),
		Telemetry: vt("Locked", "vehicle_state.locked"),
		Value:     func(v *VehicleView) any { return vstate(v).Locked }},
	{Key: "sentry_mode", Platform: hass.Switch, Name: "Sentry mode", Icon: "mdi:cctv",
		Source: fleet.VehicleState, Group: "sentry", CommandScopes: vCmdScopes,
		Command:   vOnOffParam("set_sentry_mode", "on", nil),
		Telemetry: vt("SentryMode", "vehicle_state.sentry_mode", tvSentry),
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
		vt("FdWindow", "vehicle_state.fd_window", tvWindow)),
	withT(vWindow("window_front_right", "Front passenger window",
		func(s *fleet.VehicleStateData) *float64 { return s.FpWindow }),
		vt("FpWindow", "vehicle_state.fp_window", tvWindow)),
	withT(vWindow("window_rear_left", "Rear driver window", func(s *fleet.VehicleStateData) *float64 { return s.RdWindow }),
		vt("RdWindow", "vehicle_state.rd_window", tvWindow)),
	withT(vWindow("window_rear_right", "Rear passenger window",
		func(s *fleet.VehicleStateData) *float64 { return s.RpWindow }),
		vt("RpWindow", "vehicle_state.rp_window", tvWindow)),
	{Key: "frunk", Platform: hass.BinarySensor, Name: "Frunk", DeviceClass: hass.DCOpening, Icon: "mdi:car-select",
		Source: fleet.VehicleState, Telemetry: vtDoors,
		Value: func(v *VehicleView) any { return vNonZero(vstate(v).FrontTrunk) }},
	{Key: "trunk", Platform: hass.BinarySensor, Name: "Trunk", DeviceClass: hass.DCOpening, Icon: "mdi:car-back",
		Source: fleet.VehicleState, Telemetry: vtDoors,
		Value: func(v *VehicleView) any { return vNonZero(vstate(v).RearTrunk) }},
	{Key: "open_frunk", Platform: hass.Button, Name: "Open frunk", Icon: "mdi:car-select",
		Source: fleet.VehicleState, Group: "trunk", CommandScopes: vCmdScopes,
		Command: vPress("actuate_trunk", map[string]any{"which_trunk": "front"})},
	// actuate_trunk rear opens a closed trunk and closes an open powered one.
	{Key: "open_trunk", Platform: hass.Button, Name: "Open/close trunk", Icon: "mdi:car-back",
		Source: fleet.VehicleState, Group: "trunk", CommandScopes: vCmdScopes,
		Command: vPress("actuate_trunk", map[string]any{"which_trunk": "rear"})},
	{Key: "vent_windows", Platform: hass.Button, Name: "Vent windows", Icon: "mdi:window-open-variant",
		Source: fleet.VehicleState, Group: "windows", CommandScopes: vCmdScopes,
		Command: pressWith("window_control", vWindowParams("vent"))},
	{Key: "close_windows", Platform: hass.Button, Name: "Close windows", Icon: "mdi:window-closed-variant",
		Source: fleet.VehicleState, Group: "windows", CommandScopes: vCmdScopes,
		Command: pressWith("window_control", vWindowParams("close"))},
	{Key: "user_present", Platform: hass.BinarySensor, Name: "User present", DeviceClass: hass.DCPresence,
		Icon: "mdi:account", Source: fleet.VehicleState,
		Value: func(v *VehicleView) any { return vstate(v).IsUserPresent }},
	{Key: "valet_mode", Platform: hass.BinarySensor, Name: "Valet mode", Icon: "mdi:account-tie-hat",
		Source: fleet.VehicleState, Telemetry: vt("ValetModeEnabled", "vehicle_state.valet_mode"),
		Value: func(v *VehicleView) any { return vstate(v).ValetMode }},

	// Driving and location. Without vehicle_location Tesla drops the whole
	// drive_state (FLEET_API §3.1), so every drive_state row needs the scope.
	{Key: "location", Platform: hass.DeviceTracker, Name: "Location", Icon: "mdi:car",
		Source: fleet.LocationData, Scope: vLocScope,
		// The tracker reads latitude/longitude/heading from the state object;
		// this key carries whether a fix is known.
		Telemetry: vtLocation,
		Value: func(v *VehicleView) any {
			d := drive(v)
			return d.Latitude != nil && d.Longitude != nil
		}},
	{Key: "latitude", Platform: hass.Sensor, Name: "Latitude", Icon: "mdi:latitude", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: vLocScope,
		Telemetry: vtLocation,
		Value:     func(v *VehicleView) any { return drive(v).Latitude }},
	{Key: "longitude", Platform: hass.Sensor, Name: "Longitude", Icon: "mdi:longitude", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: vLocScope,
		Telemetry: vtLocation,
		Value:     func(v *VehicleView) any { return drive(v).Longitude }},
	{Key: "heading", Platform: hass.Sensor, Name: "Heading", Icon: "mdi:compass", Unit: "°", Disabled: true,
		Category: hass.CategoryDiagnostic, Source: fleet.LocationData, Scope: vLocScope,
		Telemetry: vt("GpsHeading", "drive_state.heading"),
		Value:     func(v *VehicleView) any { return drive(v).Heading }},
	// shift_state is null while parked: that is P, not unknown.
	{Key: "shift_state", Platform: hass.Sensor, Name: "Shift state", DeviceClass: hass.DCEnum,
		Options: []string{"P", "R", "N", "D"}, Icon: "mdi:car-shift-pattern",
		Source: fleet.DriveState, Scope: vLocScope,
		Telemetry: vt("Gear", "drive_state.shift_state", vtGear),
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
	{Key: "speed", Platform: hass.Sensor, Name: "Speed", DeviceClass: hass.DCSpeed, StateClass: hass.Measurement,
		Unit: "mph", Quantity: QSpeedMph, Precision: Ptr(0), Source: fleet.DriveState, Scope: vLocScope,
		Telemetry: vt("VehicleSpeed", "drive_state.speed"),
		Value: func(v *VehicleView) any {
			if !vDriveKnown(v) {
				return nil
			}
			if s := drive(v).Speed; s != nil {
				return *s
			}
			return 0.0
		}},
	{Key: "power", Platform: hass.Sensor, Name: "Power", DeviceClass: hass.DCPower, StateClass: hass.Measurement,
		Unit: "kW", Source: fleet.DriveState, Scope: vLocScope,
		Value: func(v *VehicleView) any { return drive(v).Power }},
	{Key: "odometer", Platform: hass.Sensor, Name: "Odometer", DeviceClass: hass.DCDistance,
		StateClass: hass.TotalIncreasing, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(0), Source: fleet.VehicleState,
		Telemetry: vt("Odometer", "vehicle_state.odometer"),
		Value:     func(v *VehicleView) any { return vstate(v).Odometer }},
	{Key: "route_destination", Platform: hass.Sensor, Name: "Navigation destination", Icon: "mdi:map-marker",
		Source: fleet.LocationData, Scope: vLocScope,
		Telemetry: vt("DestinationName", "drive_state.active_route_destination"),
		Value:     func(v *VehicleView) any { return vTrimmed(drive(v).ActiveRouteDestination) }},
	{Key: "route_minutes_to_arrival", Platform: hass.Sensor, Name: "Time to arrival", DeviceClass: hass.DCDuration,
		StateClass: hass.Measurement, Unit: "min", Precision: Ptr(0), Source: fleet.DriveState, Scope: vLocScope,
		Telemetry: vt("MinutesToArrival", "drive_state.active_route_minutes_to_arrival"),
		Value:     func(v *VehicleView) any { return drive(v).ActiveRouteMinutesToArrival }},
	{Key: "route_miles_to_arrival", Platform: hass.Sensor, Name: "Distance to arrival", DeviceClass: hass.DCDistance,
		StateClass: hass.Measurement, Unit: "mi", Quantity: QDistanceMi, Precision: Ptr(1),
		Source: fleet.DriveState, Scope: vLocScope,
		Telemetry: vt("MilesToArrival", "drive_state.active_route_miles_to_arrival"),
		Value:     func(v *VehicleView) any { return drive(v).ActiveRouteMilesToArrival }},
	// active_route_energy_at_arrival is the battery % at the destination
	// (as HA's Tesla Fleet integration reads it).
	{Key: "route_energy_at_arrival", Platform: hass.Sensor, Name: "Battery at arrival", DeviceClass: hass.DCBattery,
		StateClass: hass.Measurement, Unit: "%", Precision: Ptr(0), Source: fleet.DriveState, Scope: vLocScope,
		Telemetry: vt("ExpectedEnergyPercentAtTripArrival", "drive_state.active_route_energy_at_arrival"),
		Value:     func(v *VehicleView) any { return drive(v).ActiveRouteEnergyAtArrival }},

	// State.
	{Key: "software_version", Platform: hass.Sensor, Name: "Software version", Icon: "mdi:update",
		Category: hass.CategoryDiagnostic, Source: fleet.VehicleState,
		Telemetry: vt("Version", "vehicle_state.car_version"),
		Value: func(v *VehicleView) any {
			c := vTrimmed(vstate(v).CarVersion)
			if c == nil {
				return nil
			}
			return strings.Fields(c.(string))[0]
		}},
	{Key: "software_update_available", Platform: hass.BinarySensor, Name: "Software update",
		DeviceClass: hass.DCUpdate, Source: fleet.VehicleState,
		Value: func(v *VehicleView) any {
			if vstate(v).SoftwareUpdate == nil {
				return nil
			}
			return vTrimmed(swUpdate(v).Status) != nil
		}},
	{Key: "software_update_version", Platform: hass.Sensor, Name: "Software update version", Icon: "mdi:update",
		Category: hass.CategoryDiagnostic, Source: fleet.VehicleState,
		Value: func(v *VehicleView) any { return vTrimmed(swUpdate(v).Version) }},
	withT(vTyre("tpms_pressure_fl", "Tyre pressure front left",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureFL }),
		vt("TpmsPressureFl", "vehicle_state.tpms_pressure_fl")),
	withT(vTyre("tpms_pressure_fr", "Tyre pressure front right",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureFR }),
		vt("TpmsPressureFr", "vehicle_state.tpms_pressure_fr")),
	withT(vTyre("tpms_pressure_rl", "Tyre pressure rear left",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureRL }),
		vt("TpmsPressureRl", "vehicle_state.tpms_pressure_rl")),
	withT(vTyre("tpms_pressure_rr", "Tyre pressure rear right",
		func(s *fleet.VehicleStateData) *float64 { return s.TpmsPressureRR }),
		vt("TpmsPressureRr", "vehicle_state.tpms_pressure_rr")),
	{Key: "state", Platform: hass.Sensor, Name: "Fleet state", DeviceClass: hass.DCEnum,
		Options:  []string{fleet.StateOnline, fleet.StateAsleep, fleet.StateOffline},
		Category: hass.CategoryDiagnostic, Icon: "mdi:sleep", Source: SourceBridge,
		Value: func(v *VehicleView) any {
			if v.State == "" {
				return nil
			}
			return v.State
		}},
	{Key: "last_seen", Platform: hass.Sensor, Name: "Last seen", DeviceClass: hass.DCTimestamp,
		Category: hass.CategoryDiagnostic, Icon: "mdi:clock-check-outline", Source: SourceBridge,
		Value: func(v *VehicleView) any {
			if v.LastSeen.IsZero() {
				return nil
			}
			return v.LastSeen.UTC().Format(time.RFC3339)
		}},

	// Actions. wake_up is special to the pipeline: it wakes and returns.
	// Flash and honk change no data block: SourceBridge, no read after them.
	{Key: "wake_up", Platform: hass.Button, Name: "Wake up", Icon: "mdi:sleep-off",
		Source: SourceBridge, Group: "wake", CommandScopes: vCmdScopes, Command: vPress("wake_up", nil)},
	{Key: "flash_lights", Platform: hass.Button, Name: "Flash lights", Icon: "mdi:car-light-high",
		Source: SourceBridge, Group: "horn_lights", CommandScopes: vCmdScopes, Command: vPress("flash_lights", nil)},
	{Key: "honk_horn", Platform: hass.Button, Name: "Honk horn", Icon: "mdi:bullhorn",
		Source: SourceBridge, Group: "horn_lights", CommandScopes: vCmdScopes, Command: vPress("honk_horn", nil)},

	// Diagnostics.
	{Key: "command_signing", Platform: hass.Sensor, Name: "Command signing", Icon: "mdi:key-chain",
		Category: hass.CategoryDiagnostic, Source: SourceBridge,
		Value: func(v *VehicleView) any {
			if v.CommandSigning == "" {
				return nil
			}
			return v.CommandSigning
		}},
})
