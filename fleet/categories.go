package fleet

import "strings"

// Metering names of the Fleet API calls (Request.Endpoint). They are shared
// with fleetsim and the bridge's budgets, so a renamed call cannot silently
// fall out of a budget.
const (
	CallProducts        = "products"
	CallVehicles        = "vehicles"
	CallVehicle         = "vehicle"
	CallVehicleData     = "vehicle_data"
	CallWakeUp          = "wake_up"
	CallCommand         = "command"
	CallSignedCommand   = "signed_command"
	CallFleetStatus     = "fleet_status"
	CallUsersRegion     = "users_region"
	CallLiveStatus      = "live_status"
	CallSiteInfo        = "site_info"
	CallCalendarHistory = "calendar_history"
	CallEnergyCommand   = "energy_command"
)

// Metering names of the onboarding calls: the partner endpoints, Tesla's
// OAuth endpoints and the app's own .well-known key (fleetsim serves all of
// them). None is billed as vehicle data (authentication is free per
// FLEET_API.md §1.1), so they are entered as free in the category table.
const (
	CallPartnerRegister  = "partner_register"
	CallPartnerPublicKey = "partner_public_key"
	CallOAuthAuthorize   = "oauth_authorize"
	CallOAuthToken       = "oauth_token"
	CallAppPublicKey     = "app_public_key"
)

// Metering names of the telemetry endpoints, and of one received signal.
const (
	CallTelemetryConfigure = "fleet_telemetry_config"
	CallTelemetryStatus    = "fleet_telemetry_config_get"
	CallTelemetryRemove    = "fleet_telemetry_config_delete"
	CallTelemetryErrors    = "fleet_telemetry_errors"
	// CallTelemetrySignal meters one datum received from the stream
	// (CategoryStreaming); no HTTP request stands behind it.
	CallTelemetrySignal = "telemetry_signal"
)

// categories maps a metering name to Tesla's billing category (FLEET_API.md
// §6.1). Energy reads are metered as data although Tesla did not bill them in
// 2025: over-counting keeps the budget guard on the safe side.
var categories = map[string]Category{
	CallProducts:        CategoryFree,
	CallVehicles:        CategoryFree,
	CallVehicle:         CategoryFree,
	CallVehicleData:     CategoryData,
	CallWakeUp:          CategoryWake,
	CallCommand:         CategoryCommand,
	CallSignedCommand:   CategoryCommand,
	CallFleetStatus:     CategoryFree,
	CallUsersRegion:     CategoryFree,
	CallLiveStatus:      CategoryData,
	CallSiteInfo:        CategoryData,
	CallCalendarHistory: CategoryData,
	CallEnergyCommand:   CategoryCommand,
	CallTelemetrySignal: CategoryStreaming,
	// Onboarding is free.
	CallPartnerRegister:  CategoryFree,
	CallPartnerPublicKey: CategoryFree,
	CallOAuthAuthorize:   CategoryFree,
	CallOAuthToken:       CategoryFree,
	CallAppPublicKey:     CategoryFree,
}

// CategoryOf returns the billing category of a metering name. "command/<name>"
// counts as a command. Unknown names count as data, the most common billed
// category, so that an unlisted call is over- rather than under-budgeted.
func CategoryOf(endpoint string) Category {
	if c, ok := categories[endpoint]; ok {
		return c
	}
	if strings.HasPrefix(endpoint, CallCommand+"/") {
		return CategoryCommand
	}
	return CategoryData
}
