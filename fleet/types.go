package fleet

// Response types of the Fleet API. Every optional field is a pointer: Tesla
// omits fields and whole blocks (asleep car, missing scope, old firmware) and
// sends null freely, and the bridge must tell "absent" from "zero". Numbers
// are float64 throughout because the API is not consistent about integers.

// Endpoint names a vehicle_data block (the values of the endpoints= query).
type Endpoint string

// The vehicle_data blocks the bridge knows.
const (
	ChargeState   Endpoint = "charge_state"
	ClimateState  Endpoint = "climate_state"
	DriveState    Endpoint = "drive_state"
	LocationData  Endpoint = "location_data"
	VehicleState  Endpoint = "vehicle_state"
	VehicleConfig Endpoint = "vehicle_config"
	GUISettings   Endpoint = "gui_settings"
	// ClosuresState is accepted by Tesla but its fields arrive inside vehicle_state.
	ClosuresState Endpoint = "closures_state"
)

// Vehicle states as reported by /api/1/vehicles. Anything else counts as not online.
const (
	StateOnline  = "online"
	StateAsleep  = "asleep"
	StateOffline = "offline"
)

// Vehicle is one item of GET /api/1/vehicles or the response of /api/1/vehicles/{vin}.
type Vehicle struct {
	ID             int64  `json:"id"`
	VehicleID      int64  `json:"vehicle_id"`
	VIN            string `json:"vin"`
	DisplayName    string `json:"display_name"`
	State          string `json:"state"`
	InService      *bool  `json:"in_service"`
	AccessType     string `json:"access_type"`
	CommandSigning string `json:"command_signing"`
	APIVersion     *int   `json:"api_version"`
}

// Product is one item of GET /api/1/products: a vehicle (VIN set) or an
// energy site (EnergySiteID set).
type Product struct {
	// ID is a number for vehicles and a string ("STE…") for energy sites.
	ID any `json:"id"`
	// Vehicle fields.
	VIN            string `json:"vin"`
	DisplayName    string `json:"display_name"`
	State          string `json:"state"`
	CommandSigning string `json:"command_signing"`
	// Energy site fields.
	EnergySiteID      int64           `json:"energy_site_id"`
	ResourceType      string          `json:"resource_type"`
	SiteName          string          `json:"site_name"`
	GatewayID         string          `json:"gateway_id"`
	PercentageCharged *float64        `json:"percentage_charged"`
	Components        *SiteComponents `json:"components"`
}

// IsVehicle reports whether the product is a car.
func (p Product) IsVehicle() bool { return p.VIN != "" }

// IsEnergySite reports whether the product is an energy site.
func (p Product) IsEnergySite() bool { return p.EnergySiteID != 0 }

// VehicleData is the response of GET /api/1/vehicles/{vin}/vehicle_data.
// A block is nil when it was not requested or not returned.
type VehicleData struct {
	ID          int64              `json:"id"`
	VehicleID   int64              `json:"vehicle_id"`
	VIN         string             `json:"vin"`
	DisplayName string             `json:"display_name"`
	State       string             `json:"state"`
	Charge      *ChargeStateData   `json:"charge_state"`
	Climate     *ClimateStateData  `json:"climate_state"`
	Drive       *DriveStateData    `json:"drive_state"`
	Vehicle     *VehicleStateData  `json:"vehicle_state"`
	Config      *VehicleConfigData `json:"vehicle_config"`
	GUI         *GUISettingsData   `json:"gui_settings"`
	// Dropped are the fields the client left nil because Tesla sent them
	// with an unexpected type ("charge_state.battery_level"), so the bridge
	// can keep their last good values instead of turning them unknown.
	Dropped []string `json:"-"`
}

// setDropped implements droppedSetter.
func (v *VehicleData) setDropped(fields []string) { v.Dropped = fields }

// ChargeStateData is vehicle_data.charge_state. Ranges are in miles, power in kW.
type ChargeStateData struct {
	BatteryLevel             *float64 `json:"battery_level"`
	UsableBatteryLevel       *float64 `json:"usable_battery_level"`
	BatteryRange             *float64 `json:"battery_range"`
	EstBatteryRange          *float64 `json:"est_battery_range"`
	IdealBatteryRange        *float64 `json:"ideal_battery_range"`
	ChargingState            *string  `json:"charging_state"`
	ChargeLimitSOC           *float64 `json:"charge_limit_soc"`
	ChargeLimitSOCMin        *float64 `json:"charge_limit_soc_min"`
	ChargeLimitSOCMax        *float64 `json:"charge_limit_soc_max"`
	ChargeCurrentRequest     *float64 `json:"charge_current_request"`
	ChargeCurrentRequestMax  *float64 `json:"charge_current_request_max"`
	ChargeAmps               *float64 `json:"charge_amps"`
	ChargerActualCurrent     *float64 `json:"charger_actual_current"`
	ChargerVoltage           *float64 `json:"charger_voltage"`
	ChargerPower             *float64 `json:"charger_power"`
	ChargerPhases            *float64 `json:"charger_phases"`
	ChargeEnergyAdded        *float64 `json:"charge_energy_added"`
	ChargeRate               *float64 `json:"charge_rate"`
	TimeToFullCharge         *float64 `json:"time_to_full_charge"`
	MinutesToFullCharge      *float64 `json:"minutes_to_full_charge"`
	ChargePortDoorOpen       *bool    `json:"charge_port_door_open"`
	ChargePortLatch          *string  `json:"charge_port_latch"`
	ConnChargeCable          *string  `json:"conn_charge_cable"`
	FastChargerPresent       *bool    `json:"fast_charger_present"`
	ScheduledChargingMode    *string  `json:"scheduled_charging_mode"`
	ScheduledChargingPending *bool    `json:"scheduled_charging_pending"`
	ScheduledChargingStart   *float64 `json:"scheduled_charging_start_time"`
	EnergyRemaining          *float64 `json:"energy_remaining"`
	Timestamp                *float64 `json:"timestamp"`
}

// ClimateStateData is vehicle_data.climate_state. Temperatures are in °C.
type ClimateStateData struct {
	InsideTemp              *float64 `json:"inside_temp"`
	OutsideTemp             *float64 `json:"outside_temp"`
	DriverTempSetting       *float64 `json:"driver_temp_setting"`
	PassengerTempSetting    *float64 `json:"passenger_temp_setting"`
	IsClimateOn             *bool    `json:"is_climate_on"`
	IsAutoConditioningOn    *bool    `json:"is_auto_conditioning_on"`
	IsPreconditioning       *bool    `json:"is_preconditioning"`
	IsFrontDefrosterOn      *bool    `json:"is_front_defroster_on"`
	IsRearDefrosterOn       *bool    `json:"is_rear_defroster_on"`
	DefrostMode             *float64 `json:"defrost_mode"`
	FanStatus               *float64 `json:"fan_status"`
	SeatHeaterLeft          *float64 `json:"seat_heater_left"`
	SeatHeaterRight         *float64 `json:"seat_heater_right"`
	SeatHeaterRearLeft      *float64 `json:"seat_heater_rear_left"`
	SeatHeaterRearCenter    *float64 `json:"seat_heater_rear_center"`
	SeatHeaterRearRight     *float64 `json:"seat_heater_rear_right"`
	SteeringWheelHeater     *bool    `json:"steering_wheel_heater"`
	SteeringWheelHeatLevel  *float64 `json:"steering_wheel_heat_level"`
	ClimateKeeperMode       *string  `json:"climate_keeper_mode"`
	CabinOverheatProtection *string  `json:"cabin_overheat_protection"`
	MinAvailTemp            *float64 `json:"min_avail_temp"`
	MaxAvailTemp            *float64 `json:"max_avail_temp"`
	BatteryHeater           *bool    `json:"battery_heater"`
	Timestamp               *float64 `json:"timestamp"`
}

// DriveStateData is vehicle_data.drive_state. Speed in mph, power in kW,
// distances in miles. Location needs location_data and the vehicle_location scope.
type DriveStateData struct {
	Latitude                    *float64 `json:"latitude"`
	Longitude                   *float64 `json:"longitude"`
	Heading                     *float64 `json:"heading"`
	GPSAsOf                     *float64 `json:"gps_as_of"`
	NativeLatitude              *float64 `json:"native_latitude"`
	NativeLongitude             *float64 `json:"native_longitude"`
	NativeType                  *string  `json:"native_type"`
	ShiftState                  *string  `json:"shift_state"`
	Speed                       *float64 `json:"speed"`
	Power                       *float64 `json:"power"`
	ActiveRouteDestination      *string  `json:"active_route_destination"`
	ActiveRouteLatitude         *float64 `json:"active_route_latitude"`
	ActiveRouteLongitude        *float64 `json:"active_route_longitude"`
	ActiveRouteMilesToArrival   *float64 `json:"active_route_miles_to_arrival"`
	ActiveRouteMinutesToArrival *float64 `json:"active_route_minutes_to_arrival"`
	ActiveRouteEnergyAtArrival  *float64 `json:"active_route_energy_at_arrival"`
	Timestamp                   *float64 `json:"timestamp"`
}

// SoftwareUpdate is vehicle_state.software_update.
type SoftwareUpdate struct {
	Status              *string  `json:"status"`
	Version             *string  `json:"version"`
	DownloadPerc        *float64 `json:"download_perc"`
	InstallPerc         *float64 `json:"install_perc"`
	ExpectedDurationSec *float64 `json:"expected_duration_sec"`
}

// VehicleStateData is vehicle_data.vehicle_state. Odometer in miles, tyre
// pressures in bar; doors and windows are 0 when closed.
type VehicleStateData struct {
	CarVersion          *string         `json:"car_version"`
	Odometer            *float64        `json:"odometer"`
	Locked              *bool           `json:"locked"`
	SentryMode          *bool           `json:"sentry_mode"`
	SentryModeAvailable *bool           `json:"sentry_mode_available"`
	DriverFront         *float64        `json:"df"`
	DriverRear          *float64        `json:"dr"`
	PassengerFront      *float64        `json:"pf"`
	PassengerRear       *float64        `json:"pr"`
	FrontTrunk          *float64        `json:"ft"`
	RearTrunk           *float64        `json:"rt"`
	FdWindow            *float64        `json:"fd_window"`
	FpWindow            *float64        `json:"fp_window"`
	RdWindow            *float64        `json:"rd_window"`
	RpWindow            *float64        `json:"rp_window"`
	IsUserPresent       *bool           `json:"is_user_present"`
	ValetMode           *bool           `json:"valet_mode"`
	RemoteStart         *bool           `json:"remote_start"`
	TpmsPressureFL      *float64        `json:"tpms_pressure_fl"`
	TpmsPressureFR      *float64        `json:"tpms_pressure_fr"`
	TpmsPressureRL      *float64        `json:"tpms_pressure_rl"`
	TpmsPressureRR      *float64        `json:"tpms_pressure_rr"`
	SoftwareUpdate      *SoftwareUpdate `json:"software_update"`
	VehicleName         *string         `json:"vehicle_name"`
	Timestamp           *float64        `json:"timestamp"`
}

// VehicleConfigData is vehicle_data.vehicle_config.
type VehicleConfigData struct {
	CarType             *string  `json:"car_type"`
	TrimBadging         *string  `json:"trim_badging"`
	ExteriorColor       *string  `json:"exterior_color"`
	WheelType           *string  `json:"wheel_type"`
	ChargePortType      *string  `json:"charge_port_type"`
	CanActuateTrunks    *bool    `json:"can_actuate_trunks"`
	RearSeatHeaters     *float64 `json:"rear_seat_heaters"`
	HasSeatCooling      *bool    `json:"has_seat_cooling"`
	SunRoofInstalled    *float64 `json:"sun_roof_installed"`
	EUVehicle           *bool    `json:"eu_vehicle"`
	RHD                 *bool    `json:"rhd"`
	MotorizedChargePort *bool    `json:"motorized_charge_port"`
	Plg                 *bool    `json:"plg"`
}

// GUISettingsData is vehicle_data.gui_settings: the units the driver chose on
// the screen. The API values themselves stay in miles, °C and bar.
type GUISettingsData struct {
	DistanceUnits    *string `json:"gui_distance_units"`
	TemperatureUnits *string `json:"gui_temperature_units"`
	ChargeRateUnits  *string `json:"gui_charge_rate_units"`
	RangeDisplay     *string `json:"gui_range_display"`
	TirePressureUnit *string `json:"gui_tirepressure_units"`
	Hour24           *bool   `json:"gui_24_hour_time"`
}

// LiveStatus is GET /api/1/energy_sites/{id}/live_status. Powers are in W:
// battery_power > 0 discharges, grid_power > 0 imports, < 0 exports.
// EnergyLeft and TotalPackEnergy (Wh) are absent on some sites.
type LiveStatus struct {
	SolarPower         *float64        `json:"solar_power"`
	BatteryPower       *float64        `json:"battery_power"`
	LoadPower          *float64        `json:"load_power"`
	GridPower          *float64        `json:"grid_power"`
	GeneratorPower     *float64        `json:"generator_power"`
	GridServicesPower  *float64        `json:"grid_services_power"`
	PercentageCharged  *float64        `json:"percentage_charged"`
	EnergyLeft         *float64        `json:"energy_left"`
	TotalPackEnergy    *float64        `json:"total_pack_energy"`
	GridStatus         *string         `json:"grid_status"`
	GridServicesActive *bool           `json:"grid_services_active"`
	IslandStatus       *string         `json:"island_status"`
	StormModeActive    *bool           `json:"storm_mode_active"`
	BackupCapable      *bool           `json:"backup_capable"`
	Timestamp          *string         `json:"timestamp"`
	WallConnectors     []WallConnector `json:"wall_connectors"`
}

// WallConnector is one item of live_status.wall_connectors.
type WallConnector struct {
	DIN        string   `json:"din"`
	VIN        *string  `json:"vin"`
	State      *float64 `json:"wall_connector_state"`
	FaultState *float64 `json:"wall_connector_fault_state"`
	Power      *float64 `json:"wall_connector_power"`
}

// SiteInfo is GET /api/1/energy_sites/{id}/site_info.
type SiteInfo struct {
	ID                                   string            `json:"id"`
	SiteName                             *string           `json:"site_name"`
	BackupReservePercent                 *float64          `json:"backup_reserve_percent"`
	DefaultRealMode                      *string           `json:"default_real_mode"`
	InstallationDate                     *string           `json:"installation_date"`
	InstallationTimeZone                 *string           `json:"installation_time_zone"`
	UserSettings                         *SiteUserSettings `json:"user_settings"`
	Components                           *SiteComponents   `json:"components"`
	Version                              *string           `json:"version"`
	BatteryCount                         *float64          `json:"battery_count"`
	NameplatePower                       *float64          `json:"nameplate_power"`
	NameplateEnergy                      *float64          `json:"nameplate_energy"`
	OffGridVehicleChargingReservePercent *float64          `json:"off_grid_vehicle_charging_reserve_percent"`
	VPPBackupReservePercent              *float64          `json:"vpp_backup_reserve_percent"`
}

// SiteUserSettings is site_info.user_settings.
type SiteUserSettings struct {
	StormModeEnabled *bool `json:"storm_mode_enabled"`
}

// SiteComponents is site_info.components (and products[].components).
type SiteComponents struct {
	Solar                                    *bool                   `json:"solar"`
	SolarType                                *string                 `json:"solar_type"`
	Battery                                  *bool                   `json:"battery"`
	BatteryType                              *string                 `json:"battery_type"`
	Grid                                     *bool                   `json:"grid"`
	Backup                                   *bool                   `json:"backup"`
	Gateway                                  *string                 `json:"gateway"`
	LoadMeter                                *bool                   `json:"load_meter"`
	TOUCapable                               *bool                   `json:"tou_capable"`
	StormModeCapable                         *bool                   `json:"storm_mode_capable"`
	OffGridVehicleChargingReserveSupported   *bool                   `json:"off_grid_vehicle_charging_reserve_supported"`
	CustomerPreferredExportRule              *string                 `json:"customer_preferred_export_rule"`
	DisallowChargeFromGridWithSolarInstalled *bool                   `json:"disallow_charge_from_grid_with_solar_installed"`
	WallConnectors                           []SiteWallConnectorInfo `json:"wall_connectors"`
}

// SiteWallConnectorInfo is one item of site_info.components.wall_connectors.
type SiteWallConnectorInfo struct {
	DeviceID string `json:"device_id"`
	DIN      string `json:"din"`
	PartName string `json:"part_name"`
}

// Region is the response of GET /api/1/users/region.
type Region struct {
	Region          string `json:"region"`
	FleetAPIBaseURL string `json:"fleet_api_base_url"`
}

// CommandResult is the response of a REST vehicle command.
type CommandResult struct {
	Result bool   `json:"result"`
	Reason string `json:"reason"`
}
