package fleet

import "time"

// FleetStatus is the response of POST /api/1/vehicles/fleet_status. The
// bridge calls it once per VIN to learn whether commands must be signed and
// whether our virtual key is paired, before the first command is attempted.
type FleetStatus struct {
	KeyPairedVINs []string                    `json:"key_paired_vins"`
	UnpairedVINs  []string                    `json:"unpaired_vins"`
	VehicleInfo   map[string]FleetVehicleInfo `json:"vehicle_info"`
}

// FleetVehicleInfo is one value of fleet_status.vehicle_info, keyed by VIN.
type FleetVehicleInfo struct {
	// VehicleCommandProtocolRequired is authoritative for "REST commands are refused (403)".
	VehicleCommandProtocolRequired bool   `json:"vehicle_command_protocol_required"`
	FirmwareVersion                string `json:"firmware_version"`
	// TotalNumberOfKeys is nil when Tesla omits it.
	TotalNumberOfKeys *float64 `json:"total_number_of_keys"`
}

// KeyPaired reports whether vin is listed in KeyPairedVINs. Tesla notes the
// pairing state may lag by a few minutes, so treat false as "probably not yet".
func (s *FleetStatus) KeyPaired(vin string) bool {
	if s == nil {
		return false
	}
	for _, v := range s.KeyPairedVINs {
		if v == vin {
			return true
		}
	}
	return false
}

// History kinds and periods accepted by calendar_history (FLEET_API.md §5).
const (
	HistoryKindEnergy = "energy"
	HistoryKindBackup = "backup"

	PeriodDay      = "day"
	PeriodWeek     = "week"
	PeriodMonth    = "month"
	PeriodYear     = "year"
	PeriodLifetime = "lifetime"
)

// HistoryQuery selects a calendar_history window. Zero-valued fields are not
// sent, so Tesla's defaults apply; Kind defaults to HistoryKindEnergy because
// that is the only kind the bridge publishes.
type HistoryQuery struct {
	Kind   string    // HistoryKindEnergy (default) or HistoryKindBackup
	Period string    // PeriodDay … PeriodLifetime
	Start  time.Time // sent as start_date in RFC 3339, keeping its offset
	End    time.Time // sent as end_date in RFC 3339, keeping its offset
	// TimeZone is an IANA name ("Europe/Berlin"); Tesla buckets days in it.
	TimeZone string
}

// CalendarHistory is the response of GET /api/1/energy_sites/{id}/calendar_history?kind=energy.
type CalendarHistory struct {
	Period               string              `json:"period"`
	InstallationTimeZone string              `json:"installation_time_zone"`
	TimeSeries           []EnergyHistoryItem `json:"time_series"`
}

// EnergyHistoryItem is one bucket of calendar_history.time_series. Every
// counter is in Wh for the bucket and nil when Tesla omits it (sites without
// a battery or solar leave whole groups out).
type EnergyHistoryItem struct {
	Timestamp                           string   `json:"timestamp"`
	SolarEnergyExported                 *float64 `json:"solar_energy_exported"`
	GridEnergyImported                  *float64 `json:"grid_energy_imported"`
	GridEnergyExportedFromSolar         *float64 `json:"grid_energy_exported_from_solar"`
	GridEnergyExportedFromBattery       *float64 `json:"grid_energy_exported_from_battery"`
	BatteryEnergyExported               *float64 `json:"battery_energy_exported"`
	BatteryEnergyImportedFromGrid       *float64 `json:"battery_energy_imported_from_grid"`
	BatteryEnergyImportedFromSolar      *float64 `json:"battery_energy_imported_from_solar"`
	BatteryEnergyImportedFromGenerator  *float64 `json:"battery_energy_imported_from_generator"`
	ConsumerEnergyImportedFromGrid      *float64 `json:"consumer_energy_imported_from_grid"`
	ConsumerEnergyImportedFromSolar     *float64 `json:"consumer_energy_imported_from_solar"`
	ConsumerEnergyImportedFromBattery   *float64 `json:"consumer_energy_imported_from_battery"`
	ConsumerEnergyImportedFromGenerator *float64 `json:"consumer_energy_imported_from_generator"`
	TotalHomeUsage                      *float64 `json:"total_home_usage"`
	TotalBatteryCharge                  *float64 `json:"total_battery_charge"`
	TotalBatteryDischarge               *float64 `json:"total_battery_discharge"`
	TotalSolarGeneration                *float64 `json:"total_solar_generation"`
	TotalGridEnergyExported             *float64 `json:"total_grid_energy_exported"`
}
