package fleet

import "google.golang.org/protobuf/reflect/protoreflect"

// The field tables of the BLE mapping (ble_data.go): protobuf field of the
// car's state → field of the vehicle_data view. Rows, not logic.

type (
	bleCS = ChargeStateData
	bleCL = ClimateStateData
	bleDR = DriveStateData
	bleVS = VehicleStateData
	bleSU = SoftwareUpdate
)

var bleChargeFields = []bleField[bleCS]{
	fNum("battery_level", func(d *bleCS) **float64 { return &d.BatteryLevel }),
	fNum("usable_battery_level", func(d *bleCS) **float64 { return &d.UsableBatteryLevel }),
	fNum("battery_range", func(d *bleCS) **float64 { return &d.BatteryRange }),
	fNum("est_battery_range", func(d *bleCS) **float64 { return &d.EstBatteryRange }),
	fNum("ideal_battery_range", func(d *bleCS) **float64 { return &d.IdealBatteryRange }),
	fChoice("charging_state", map[string]string{"Disconnected": "Disconnected", "NoPower": "NoPower",
		"Starting": "Starting", "Charging": "Charging", "Complete": "Complete", "Stopped": "Stopped",
		"Calibrating": "Calibrating"}, func(d *bleCS) **string { return &d.ChargingState }),
	fNum("charge_limit_soc", func(d *bleCS) **float64 { return &d.ChargeLimitSOC }),
	fNum("charge_limit_soc_min", func(d *bleCS) **float64 { return &d.ChargeLimitSOCMin }),
	fNum("charge_limit_soc_max", func(d *bleCS) **float64 { return &d.ChargeLimitSOCMax }),
	fNum("charge_current_request", func(d *bleCS) **float64 { return &d.ChargeCurrentRequest }),
	fNum("charge_current_request_max", func(d *bleCS) **float64 { return &d.ChargeCurrentRequestMax }),
	fNum("charging_amps", func(d *bleCS) **float64 { return &d.ChargeAmps }),
	fNum("charger_actual_current", func(d *bleCS) **float64 { return &d.ChargerActualCurrent }),
	fNum("charger_voltage", func(d *bleCS) **float64 { return &d.ChargerVoltage }),
	fNum("charger_power", func(d *bleCS) **float64 { return &d.ChargerPower }),
	fNum("charger_phases", func(d *bleCS) **float64 { return &d.ChargerPhases }),
	fNum("charge_energy_added", func(d *bleCS) **float64 { return &d.ChargeEnergyAdded }),
	// charge_rate_mph (whole numbers) fills in when the float is absent.
	fNum("charge_rate_mph_float", func(d *bleCS) **float64 { return &d.ChargeRate }),
	fNum("minutes_to_full_charge", func(d *bleCS) **float64 { return &d.MinutesToFullCharge }),
	fBool("charge_port_door_open", func(d *bleCS) **bool { return &d.ChargePortDoorOpen }),
	fChoice("charge_port_latch", map[string]string{"Disengaged": "Disengaged", "Engaged": "Engaged",
		"Blocking": "Blocking"}, func(d *bleCS) **string { return &d.ChargePortLatch }),
	// vehicle_data says "<invalid>" when no cable is plugged in.
	fChoice("conn_charge_cable", map[string]string{"SNA": "<invalid>", "IEC": "IEC", "SAE": "SAE",
		"GB_AC": "GB_AC", "GB_DC": "GB_DC"}, func(d *bleCS) **string { return &d.ConnChargeCable }),
	fBool("fast_charger_present", func(d *bleCS) **bool { return &d.FastChargerPresent }),
	fEnum("scheduled_charging_mode", map[string]string{"ScheduledChargingModeOff": "Off",
		"ScheduledChargingModeStartAt": "StartAt", "ScheduledChargingModeDepartBy": "DepartBy"},
		func(d *bleCS) **string { return &d.ScheduledChargingMode }),
	fBool("scheduled_charging_pending", func(d *bleCS) **bool { return &d.ScheduledChargingPending }),
	fNum("scheduled_charging_start_time", func(d *bleCS) **float64 { return &d.ScheduledChargingStart }),
	fMillis("timestamp", func(d *bleCS) **float64 { return &d.Timestamp }),
}

var bleClimateFields = []bleField[bleCL]{
	fNum("inside_temp_celsius", func(d *bleCL) **float64 { return &d.InsideTemp }),
	fNum("outside_temp_celsius", func(d *bleCL) **float64 { return &d.OutsideTemp }),
	fNum("driver_temp_setting", func(d *bleCL) **float64 { return &d.DriverTempSetting }),
	fNum("passenger_temp_setting", func(d *bleCL) **float64 { return &d.PassengerTempSetting }),
	fBool("is_climate_on", func(d *bleCL) **bool { return &d.IsClimateOn }),
	fBool("is_auto_conditioning_on", func(d *bleCL) **bool { return &d.IsAutoConditioningOn }),
	fBool("is_preconditioning", func(d *bleCL) **bool { return &d.IsPreconditioning }),
	fBool("is_front_defroster_on", func(d *bleCL) **bool { return &d.IsFrontDefrosterOn }),
	fBool("is_rear_defroster_on", func(d *bleCL) **bool { return &d.IsRearDefrosterOn }),
	fLevel("defrost_mode", false, map[string]float64{"Off": 0, "Normal": 1, "Max": 2},
		func(d *bleCL) **float64 { return &d.DefrostMode }),
	fNum("fan_status", func(d *bleCL) **float64 { return &d.FanStatus }),
	fNum("seat_heater_left", func(d *bleCL) **float64 { return &d.SeatHeaterLeft }),
	fNum("seat_heater_right", func(d *bleCL) **float64 { return &d.SeatHeaterRight }),
	fNum("seat_heater_rear_left", func(d *bleCL) **float64 { return &d.SeatHeaterRearLeft }),
	fNum("seat_heater_rear_center", func(d *bleCL) **float64 { return &d.SeatHeaterRearCenter }),
	fNum("seat_heater_rear_right", func(d *bleCL) **float64 { return &d.SeatHeaterRearRight }),
	fBool("steering_wheel_heater", func(d *bleCL) **bool { return &d.SteeringWheelHeater }),
	fLevel("steering_wheel_heat_level", true, map[string]float64{"StwHeatLevel_Off": 0,
		"StwHeatLevel_Low": 1, "StwHeatLevel_High": 3}, func(d *bleCL) **float64 { return &d.SteeringWheelHeatLevel }),
	// "keep" is what vehicle_data calls the car's "On".
	fChoice("climate_keeper_mode", map[string]string{"Off": "off", "On": "keep", "Dog": "dog", "Party": "camp"},
		func(d *bleCL) **string { return &d.ClimateKeeperMode }),
	fEnum("cabin_overheat_protection", map[string]string{"CabinOverheatProtectionOff": "Off",
		"CabinOverheatProtectionOn": "On", "CabinOverheatProtectionFanOnly": "FanOnly"},
		func(d *bleCL) **string { return &d.CabinOverheatProtection }),
	fNum("min_avail_temp_celsius", func(d *bleCL) **float64 { return &d.MinAvailTemp }),
	fNum("max_avail_temp_celsius", func(d *bleCL) **float64 { return &d.MaxAvailTemp }),
	fBool("battery_heater", func(d *bleCL) **bool { return &d.BatteryHeater }),
	fMillis("timestamp", func(d *bleCL) **float64 { return &d.Timestamp }),
}

var bleDriveFields = []bleField[bleDR]{
	fChoice("shift_state", map[string]string{"P": "P", "R": "R", "N": "N", "D": "D"},
		func(d *bleDR) **string { return &d.ShiftState }),
	fNum("speed", func(d *bleDR) **float64 { return &d.Speed }),
	fNum("power", func(d *bleDR) **float64 { return &d.Power }),
	fString("active_route_destination", func(d *bleDR) **string { return &d.ActiveRouteDestination }),
	fNum("active_route_minutes_to_arrival", func(d *bleDR) **float64 { return &d.ActiveRouteMinutesToArrival }),
	fNum("active_route_miles_to_arrival", func(d *bleDR) **float64 { return &d.ActiveRouteMilesToArrival }),
	fNum("active_route_energy_at_arrival", func(d *bleDR) **float64 { return &d.ActiveRouteEnergyAtArrival }),
	{name: "active_route_coordinates", read: func(m protoreflect.Message, d *bleDR) {
		if ll := pbMessage(m, "active_route_coordinates"); ll != nil {
			d.ActiveRouteLatitude, d.ActiveRouteLongitude = pbNumber(ll, "latitude"), pbNumber(ll, "longitude")
		}
	}},
	fMillis("timestamp", func(d *bleDR) **float64 { return &d.Timestamp }),
}

var bleLocationFields = []bleField[bleDR]{
	fNum("latitude", func(d *bleDR) **float64 { return &d.Latitude }),
	fNum("longitude", func(d *bleDR) **float64 { return &d.Longitude }),
	fNum("heading", func(d *bleDR) **float64 { return &d.Heading }),
	fNum("gps_as_of", func(d *bleDR) **float64 { return &d.GPSAsOf }),
	fNum("native_latitude", func(d *bleDR) **float64 { return &d.NativeLatitude }),
	fNum("native_longitude", func(d *bleDR) **float64 { return &d.NativeLongitude }),
	fChoice("native_type", map[string]string{"WGS": "wgs", "GCJ": "gcj"},
		func(d *bleDR) **string { return &d.NativeType }),
}

var bleClosureFields = []bleField[bleVS]{
	fOpen("door_open_driver_front", func(d *bleVS) **float64 { return &d.DriverFront }),
	fOpen("door_open_driver_rear", func(d *bleVS) **float64 { return &d.DriverRear }),
	fOpen("door_open_passenger_front", func(d *bleVS) **float64 { return &d.PassengerFront }),
	fOpen("door_open_passenger_rear", func(d *bleVS) **float64 { return &d.PassengerRear }),
	fOpen("door_open_trunk_front", func(d *bleVS) **float64 { return &d.FrontTrunk }),
	fOpen("door_open_trunk_rear", func(d *bleVS) **float64 { return &d.RearTrunk }),
	fOpen("window_open_driver_front", func(d *bleVS) **float64 { return &d.FdWindow }),
	fOpen("window_open_passenger_front", func(d *bleVS) **float64 { return &d.FpWindow }),
	fOpen("window_open_driver_rear", func(d *bleVS) **float64 { return &d.RdWindow }),
	fOpen("window_open_passenger_rear", func(d *bleVS) **float64 { return &d.RpWindow }),
	fBool("locked", func(d *bleVS) **bool { return &d.Locked }),
	fBool("is_user_present", func(d *bleVS) **bool { return &d.IsUserPresent }),
	fBool("valet_mode", func(d *bleVS) **bool { return &d.ValetMode }),
	fBool("remote_start", func(d *bleVS) **bool { return &d.RemoteStart }),
	fBool("sentry_mode_available", func(d *bleVS) **bool { return &d.SentryModeAvailable }),
	// Sentry is on in every state but Off (armed, aware, panicking…).
	{name: "sentry_mode_state", choices: map[string]string{"Off": "", "Idle": "", "Armed": "", "Aware": "",
		"Panic": "", "Quiet": ""}, read: func(m protoreflect.Message, d *bleVS) {
		if s := pbChoice(m, "sentry_mode_state"); s != "" {
			on := s != "Off"
			d.SentryMode = &on
		}
	}},
	fMillis("timestamp", func(d *bleVS) **float64 { return &d.Timestamp }),
}

var bleTireFields = []bleField[bleVS]{
	fNum("tpms_pressure_fl", func(d *bleVS) **float64 { return &d.TpmsPressureFL }),
	fNum("tpms_pressure_fr", func(d *bleVS) **float64 { return &d.TpmsPressureFR }),
	fNum("tpms_pressure_rl", func(d *bleVS) **float64 { return &d.TpmsPressureRL }),
	fNum("tpms_pressure_rr", func(d *bleVS) **float64 { return &d.TpmsPressureRR }),
}

var bleSoftwareFields = []bleField[bleSU]{
	// No status (or Unknown) is vehicle_data's "": no update waiting.
	fChoice("status", map[string]string{"": "", "Unknown": "", "Installing": "installing", "Scheduled": "scheduled",
		"Available": "available", "DownloadingWifiWait": "downloading_wifi_wait", "Downloading": "downloading"},
		func(d *bleSU) **string { return &d.Status }),
	fString("version", func(d *bleSU) **string { return &d.Version }),
	fNum("download_perc", func(d *bleSU) **float64 { return &d.DownloadPerc }),
	fNum("install_perc", func(d *bleSU) **float64 { return &d.InstallPerc }),
	fNum("expected_duration_sec", func(d *bleSU) **float64 { return &d.ExpectedDurationSec }),
}
