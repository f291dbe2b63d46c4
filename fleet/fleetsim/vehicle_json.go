package fleetsim

import (
	"math"
	"time"
)

// summary is the vehicle object of /vehicles, /vehicles/{tag}, products and
// wake_up (FLEET_API §3.1).
func (v *vehicleSim) summary() map[string]any {
	return map[string]any{
		"id":                        v.id,
		"vehicle_id":                v.vehicleID,
		"vin":                       v.snap.VIN,
		"color":                     nil,
		"access_type":               "OWNER",
		"display_name":              v.snap.DisplayName,
		"option_codes":              nil,
		"cached_data":               "",
		"granular_access":           map[string]any{"hide_private": false},
		"tokens":                    nil,
		"state":                     v.snap.State,
		"in_service":                false,
		"id_s":                      v.idS(),
		"calendar_enabled":          true,
		"api_version":               84,
		"backseat_token":            nil,
		"backseat_token_updated_at": nil,
		"ble_autopair_enrolled":     false,
		"command_signing":           v.snap.CommandSigning,
		"release_notes_supported":   true,
	}
}

// Blocks of vehicle_data (FLEET_API §3.1).
var defaultBlocks = []string{"charge_state", "climate_state", "drive_state", "gui_settings", "vehicle_config", "vehicle_state"}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// vehicleData builds the vehicle_data response for the requested blocks.
// drive_state is dropped entirely without the vehicle_location scope, and
// carries the position only when location_data was asked for.
func (v *vehicleSim) vehicleData(now time.Time, blocks map[string]bool, locationScope bool) map[string]any {
	out := map[string]any{
		"id": v.id, "user_id": 800001, "vehicle_id": v.vehicleID, "vin": v.snap.VIN,
		"color": nil, "access_type": "OWNER", "display_name": v.snap.DisplayName,
		"granular_access": map[string]any{"hide_private": false}, "tokens": nil,
		"state": v.snap.State, "in_service": false, "id_s": v.idS(), "calendar_enabled": true,
		"api_version": 84, "backseat_token": nil, "backseat_token_updated_at": nil,
		"ble_autopair_enrolled": false,
	}
	ts := now.UnixMilli()
	if blocks["charge_state"] {
		out["charge_state"] = v.chargeState(ts)
	}
	if blocks["climate_state"] {
		out["climate_state"] = v.climateState(ts)
	}
	if locationScope && (blocks["drive_state"] || blocks["location_data"]) {
		out["drive_state"] = v.driveState(now, blocks["location_data"])
	}
	if blocks["gui_settings"] {
		out["gui_settings"] = map[string]any{
			"gui_24_hour_time": true, "gui_charge_rate_units": "kW",
			"gui_distance_units": v.cfg.distanceUnits, "gui_range_display": "Rated",
			"gui_temperature_units": v.cfg.tempUnits, "gui_tirepressure_units": "Bar",
			"show_range_units": false, "timestamp": ts,
		}
	}
	if blocks["vehicle_config"] {
		out["vehicle_config"] = v.vehicleConfig(now, ts)
	}
	if blocks["vehicle_state"] || blocks["closures_state"] {
		out["vehicle_state"] = v.vehicleState(now, ts)
	}
	if blocks["charge_schedule_data"] {
		out["charge_schedule_data"] = map[string]any{
			"charge_schedules": []any{}, "max_num_charge_schedules": 10, "next_schedule": false, "timestamp": ts,
		}
	}
	if blocks["preconditioning_schedule_data"] {
		out["preconditioning_schedule_data"] = map[string]any{
			"precondition_schedules": []any{}, "max_num_precondition_schedules": 10, "next_schedule": false, "timestamp": ts,
		}
	}
	return out
}

func (v *vehicleSim) chargeState(ts int64) map[string]any {
	s := &v.snap
	charging := s.ChargingState == ChargingCharging
	level := math.Floor(s.BatteryLevel)
	rangeMi := s.BatteryLevel / 100 * s.RatedRangeMiles
	powerKW := s.ChargerPowerKW()
	var phases, actual, voltage, rate, hours any = nil, 0, 0, 0.0, 0.0
	minutes := 0
	if charging {
		phases, actual, voltage = max(s.ChargerPhases, 1), s.ChargeAmps, s.ChargerVoltage
		if s.PackKWh > 0 {
			pctPerHour := powerKW * chargeEfficiency / s.PackKWh * 100
			rate = round(pctPerHour/100*s.RatedRangeMiles, 1)
			if pctPerHour > 0 {
				h := math.Max(0, s.ChargeLimit-s.BatteryLevel) / pctPerHour
				hours, minutes = round(h, 2), int(math.Round(h*60))
			}
		}
	} else if s.PluggedIn() {
		voltage = 2
	}
	cable, latch := "<invalid>", "Disengaged"
	if s.PluggedIn() {
		cable, latch = v.cfg.cable, "Engaged"
		if cable == "<invalid>" {
			cable = "IEC"
		}
	}
	var addedRated float64
	if s.PackKWh > 0 {
		addedRated = s.ChargeEnergyAdded / s.PackKWh * s.RatedRangeMiles
	}
	return map[string]any{
		"battery_heater_on":                   false,
		"battery_level":                       level,
		"battery_range":                       round(rangeMi, 2),
		"charge_amps":                         s.ChargeAmps,
		"charge_current_request":              s.ChargeAmps,
		"charge_current_request_max":          s.ChargeCurrentMax,
		"charge_enable_request":               charging,
		"charge_energy_added":                 round(s.ChargeEnergyAdded, 2),
		"charge_limit_soc":                    s.ChargeLimit,
		"charge_limit_soc_max":                100,
		"charge_limit_soc_min":                50,
		"charge_limit_soc_std":                80,
		"charge_miles_added_ideal":            round(addedRated, 1),
		"charge_miles_added_rated":            round(addedRated, 1),
		"charge_port_cold_weather_mode":       false,
		"charge_port_color":                   "<invalid>",
		"charge_port_door_open":               s.ChargePortOpen,
		"charge_port_latch":                   latch,
		"charge_rate":                         rate,
		"charger_actual_current":              actual,
		"charger_phases":                      phases,
		"charger_pilot_current":               s.ChargeCurrentMax,
		"charger_power":                       math.Round(powerKW),
		"charger_voltage":                     voltage,
		"charging_state":                      s.ChargingState,
		"conn_charge_cable":                   cable,
		"est_battery_range":                   round(rangeMi*0.92, 2),
		"fast_charger_brand":                  "<invalid>",
		"fast_charger_present":                false,
		"fast_charger_type":                   "<invalid>",
		"ideal_battery_range":                 round(rangeMi, 2),
		"max_range_charge_counter":            0,
		"minutes_to_full_charge":              minutes,
		"not_enough_power_to_heat":            nil,
		"off_peak_charging_enabled":           false,
		"off_peak_charging_times":             "all_week",
		"off_peak_hours_end_time":             360,
		"preconditioning_enabled":             false,
		"preconditioning_times":               "all_week",
		"scheduled_charging_mode":             "Off",
		"scheduled_charging_pending":          false,
		"scheduled_charging_start_time":       nil,
		"scheduled_departure_time_minutes":    480,
		"supercharger_session_trip_planner":   false,
		"time_to_full_charge":                 hours,
		"timestamp":                           ts,
		"trip_charging":                       false,
		"usable_battery_level":                math.Max(0, level-1),
		"user_charge_enable_request":          nil,
		"energy_remaining":                    round(s.BatteryLevel/100*s.PackKWh, 2),
		"lifetime_energy_used":                round(s.Odometer*0.25, 1),
		"outlet_available":                    false,
		"managed_charging_active":             false,
		"managed_charging_user_canceled":      false,
		"managed_charging_start_time":         nil,
		"scheduled_departure_time":            nil,
		"off_peak_charging_weekdays_only":     false,
		"preconditioning_weekdays_only":       false,
		"charge_limit_soc_lock_hidden":        false,
		"battery_heater_no_power":             nil,
		"charge_current_request_max_reserved": nil,
	}
}

func (v *vehicleSim) climateState(ts int64) map[string]any {
	s := &v.snap
	fan, defrost := 0, 0
	if s.ClimateOn {
		fan = 4
	}
	if s.DefrostMax {
		defrost = 2
	}
	keeper, cop := s.ClimateKeeper, s.CabinOverheat
	if keeper == "" {
		keeper = "off"
	}
	if cop == "" {
		cop = "On"
	}
	return map[string]any{
		"allow_cabin_overheat_protection":             true,
		"auto_seat_climate_left":                      false,
		"auto_seat_climate_right":                     false,
		"auto_steering_wheel_heat":                    false,
		"battery_heater":                              false,
		"battery_heater_no_power":                     nil,
		"bioweapon_mode":                              false,
		"cabin_overheat_protection":                   cop,
		"cabin_overheat_protection_actively_cooling":  false,
		"climate_keeper_mode":                         keeper,
		"cop_activation_temperature":                  "High",
		"defrost_mode":                                defrost,
		"driver_temp_setting":                         s.DriverTemp,
		"fan_status":                                  fan,
		"hvac_auto_request":                           "On",
		"inside_temp":                                 round(s.InsideTemp, 1),
		"is_auto_conditioning_on":                     s.ClimateOn,
		"is_climate_on":                               s.ClimateOn,
		"is_front_defroster_on":                       s.DefrostMax,
		"is_preconditioning":                          false,
		"is_rear_defroster_on":                        s.DefrostMax,
		"left_temp_direction":                         0,
		"max_avail_temp":                              28,
		"min_avail_temp":                              15,
		"outside_temp":                                round(s.OutsideTemp, 1),
		"passenger_temp_setting":                      s.PassengerTemp,
		"remote_heater_control_enabled":               s.ClimateOn,
		"right_temp_direction":                        0,
		"seat_heater_left":                            s.SeatHeaters[0],
		"seat_heater_rear_center":                     s.SeatHeaters[4],
		"seat_heater_rear_left":                       s.SeatHeaters[2],
		"seat_heater_rear_right":                      s.SeatHeaters[5],
		"seat_heater_right":                           s.SeatHeaters[1],
		"side_mirror_heaters":                         false,
		"steering_wheel_heat_level":                   0,
		"steering_wheel_heater":                       s.SteeringWheelHeater,
		"supports_fan_only_cabin_overheat_protection": true,
		"timestamp":                                   ts,
		"wiper_blade_heater":                          false,
	}
}

func (v *vehicleSim) driveState(now time.Time, withLocation bool) map[string]any {
	s := &v.snap
	var shift, speed any
	power := 0.0
	if s.ShiftState != "" {
		shift = s.ShiftState
	}
	if (s.ShiftState == "D" || s.ShiftState == "R") && s.Speed > 0 {
		speed = math.Round(s.Speed)
		power = math.Round(s.Speed * 0.25)
	} else if s.ChargingState == ChargingCharging {
		power = -math.Round(s.ChargerPowerKW())
	}
	out := map[string]any{
		"active_route_traffic_minutes_delay": 0,
		"power":                              power,
		"shift_state":                        shift,
		"speed":                              speed,
		"timestamp":                          now.UnixMilli(),
	}
	if withLocation {
		out["latitude"] = s.Latitude
		out["longitude"] = s.Longitude
		out["heading"] = s.Heading
		out["gps_as_of"] = now.Unix()
		out["native_latitude"] = s.Latitude
		out["native_longitude"] = s.Longitude
		out["native_location_supported"] = 1
		out["native_type"] = "wgs"
	}
	return out
}

func (v *vehicleSim) vehicleConfig(now time.Time, ts int64) map[string]any {
	_, offset := now.In(homeLocation).Zone()
	return map[string]any{
		"aux_park_lamps": "Eu", "badge_version": 0, "can_accept_navigation_requests": true,
		"can_actuate_trunks": true, "car_special_type": "base", "car_type": v.cfg.carType,
		"charge_port_type": v.cfg.chargePort, "cop_user_set_temp_supported": true,
		"dashcam_clip_save_supported": true, "default_charge_to_max": false,
		"driver_assist": "TeslaAP3", "ece_restrictions": false, "efficiency_package": "Default",
		"eu_vehicle": false, "exterior_color": v.cfg.color, "exterior_trim": "Black",
		"exterior_trim_override": "", "has_air_suspension": false, "has_ludicrous_mode": false,
		"has_seat_cooling": false, "headlamp_type": "Global", "interior_trim_type": "Black2",
		"key_version": 2, "motorized_charge_port": true, "paint_color_override": "",
		"performance_package": "Base", "plg": v.cfg.plg, "pws": true, "rear_drive_unit": "PM216MOSFET",
		"rear_seat_heaters": 1, "rear_seat_type": 0, "rhd": false, "roof_color": "RoofColorGlass",
		"seat_type": nil, "spoiler_type": "None", "sun_roof_installed": nil,
		"supports_qr_pairing": false, "third_row_seats": "None", "timestamp": ts,
		"trim_badging": v.cfg.trim, "use_range_badging": true, "utc_offset": offset,
		"webcam_selfie_supported": true, "webcam_supported": true, "wheel_type": v.cfg.wheels,
	}
}

func (v *vehicleSim) vehicleState(now time.Time, ts int64) map[string]any {
	s := &v.snap
	seen := now.Add(-5 * time.Minute).Unix()
	sentryAvail := true
	ft, rt, win := 0, 0, 0
	if s.FrunkOpen {
		ft = 1
	}
	if s.TrunkOpen {
		rt = 1
	}
	if s.WindowsVented {
		win = 1
	}
	return map[string]any{
		"api_version": 84, "autopark_state_v3": "ready", "autopark_style": "dead_man",
		"calendar_supported": true, "car_version": s.CarVersion, "center_display_state": 0,
		"dashcam_clip_save_available": false, "dashcam_state": "Unavailable",
		"df": 0, "dr": 0, "pf": 0, "pr": 0, "ft": ft, "rt": rt,
		"fd_window": win, "fp_window": win, "rd_window": win, "rp_window": win,
		"feature_bitmask": "fbdffbff,187f", "homelink_device_count": 0, "homelink_nearby": false,
		"is_user_present": s.UserPresent, "last_autopark_error": "no_error", "locked": s.Locked,
		"media_info": map[string]any{
			"a2dp_source_name": "", "audio_volume": 2.3333, "audio_volume_increment": 0.333333,
			"audio_volume_max": 10.333333, "media_playback_status": "Stopped", "now_playing_album": "",
			"now_playing_artist": "", "now_playing_duration": 0, "now_playing_elapsed": 0,
			"now_playing_source": "", "now_playing_station": "", "now_playing_title": "",
		},
		"media_state":             map[string]any{"remote_control_enabled": true},
		"notifications_supported": true, "odometer": round(s.Odometer, 6),
		"parsed_calendar_supported": true, "remote_start": false, "remote_start_enabled": true,
		"remote_start_supported": true, "santa_mode": 0, "sentry_mode": s.Sentry,
		"sentry_mode_available": sentryAvail, "service_mode": false, "service_mode_plus": false,
		"software_update": map[string]any{
			"download_perc": 0, "expected_duration_sec": 2700, "install_perc": 1, "status": "", "version": " ",
		},
		"speed_limit_mode": map[string]any{
			"active": false, "current_limit_mph": 85, "max_limit_mph": 120, "min_limit_mph": 50, "pin_code_set": false,
		},
		"timestamp":                       ts,
		"tpms_hard_warning_fl":            false,
		"tpms_hard_warning_fr":            false,
		"tpms_hard_warning_rl":            false,
		"tpms_hard_warning_rr":            false,
		"tpms_last_seen_pressure_time_fl": seen,
		"tpms_last_seen_pressure_time_fr": seen,
		"tpms_last_seen_pressure_time_rl": seen,
		"tpms_last_seen_pressure_time_rr": seen,
		"tpms_pressure_fl":                s.TpmsFL,
		"tpms_pressure_fr":                s.TpmsFR,
		"tpms_pressure_rl":                s.TpmsRL,
		"tpms_pressure_rr":                s.TpmsRR,
		"tpms_rcp_front_value":            2.9,
		"tpms_rcp_rear_value":             2.9,
		"tpms_soft_warning_fl":            false,
		"tpms_soft_warning_fr":            false,
		"tpms_soft_warning_rl":            false,
		"tpms_soft_warning_rr":            false,
		"valet_mode":                      false,
		"valet_pin_needed":                true,
		"vehicle_name":                    s.DisplayName,
		"vehicle_self_test_progress":      0,
		"vehicle_self_test_requested":     false,
		"webcam_available":                true,
	}
}
