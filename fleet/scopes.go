package fleet

import "net/url"

// OAuth scopes of the Fleet API (FLEET_API.md §1.5).
const (
	ScopeOpenID              = "openid"
	ScopeOfflineAccess       = "offline_access"
	ScopeUserData            = "user_data"
	ScopeVehicleDeviceData   = "vehicle_device_data"
	ScopeVehicleLocation     = "vehicle_location"
	ScopeVehicleCmds         = "vehicle_cmds"
	ScopeVehicleChargingCmds = "vehicle_charging_cmds"
	ScopeEnergyDeviceData    = "energy_device_data"
	ScopeEnergyCmds          = "energy_cmds"
)

// ConsentPageURL is the "Third Party Apps" page of the Tesla account, where a
// user reviews, changes or revokes what an app may do. It needs no client id,
// so it is the link the bridge shows by default; ConsentURL gives the
// app-specific revoke/re-consent link documented by Tesla.
const ConsentPageURL = "https://accounts.tesla.com/account-settings/security?tab=tpty-apps"

// consentRevokeURL is Tesla's documented per-app consent endpoint
// (FLEET_API.md §1.1, "Scope Changes").
const consentRevokeURL = "https://auth.tesla.com/user/revoke/consent"

// ScopeInfo describes one scope for humans: the log line and the diagnostic
// entity that say which features a missing scope disables.
type ScopeInfo struct {
	// Name is the OAuth scope, e.g. "vehicle_location".
	Name string
	// Title is what Tesla's consent screen shows the user.
	Title string
	// Disables says, in one sentence, what the bridge cannot do without it.
	Disables string
}

// scopeCatalogue is kept in the order the consent screen lists the scopes.
var scopeCatalogue = []ScopeInfo{
	{ScopeOpenID, "Sign in with Tesla", "no sign-in: Tesla issues no refresh token without it"},
	{ScopeOfflineAccess, "Refresh Tokens", "no refresh token: the bridge stops working after 8 hours"},
	{ScopeUserData, "Profile Information", "region lookup by /users/region and account details are unavailable; the region comes from the token instead"},
	{ScopeVehicleDeviceData, "Vehicle Information", "no car data at all"},
	{ScopeVehicleLocation, "Vehicle Location", "no car location (device tracker, route)"},
	{ScopeVehicleCmds, "Vehicle Commands", "no car commands (lock, climate, sentry, wake…)"},
	{ScopeVehicleChargingCmds, "Vehicle Charging Management", "no charging commands (start/stop, limit, amps)"},
	{ScopeEnergyDeviceData, "Energy Product Information", "no energy site data"},
	{ScopeEnergyCmds, "Energy Product Settings", "Powerwall controls are read-only"},
}

// ScopeCatalogue returns every scope the bridge knows, in consent-screen
// order. The slice is a copy; callers may modify it.
func ScopeCatalogue() []ScopeInfo {
	return append([]ScopeInfo(nil), scopeCatalogue...)
}

// LookupScope returns the catalogue entry of a scope.
func LookupScope(name string) (ScopeInfo, bool) {
	for _, s := range scopeCatalogue {
		if s.Name == name {
			return s, true
		}
	}
	return ScopeInfo{}, false
}

// DefaultScopes returns the scopes the bridge asks for at login: all of
// them, because users can untick what they do not want on the consent
// screen, and the bridge then disables only the matching features.
func DefaultScopes() []string {
	out := make([]string, len(scopeCatalogue))
	for i, s := range scopeCatalogue {
		out[i] = s.Name
	}
	return out
}

// MissingScopes returns the scopes of wanted that granted lacks, in wanted's
// order and without duplicates. A nil result means nothing is missing.
func MissingScopes(granted, wanted []string) []string {
	have := make(map[string]bool, len(granted))
	for _, s := range granted {
		have[s] = true
	}
	var missing []string
	for _, s := range wanted {
		if !have[s] {
			missing = append(missing, s)
			have[s] = true // report each scope once
		}
	}
	return missing
}

// ConsentURL returns the link to Tesla's consent page for one app, where the
// user revokes it or changes the granted scopes; Tesla sends the browser to
// backURL afterwards (omitted when empty). Without a client id it returns
// ConsentPageURL, which lists every app.
func ConsentURL(clientID, backURL string) string {
	if clientID == "" {
		return ConsentPageURL
	}
	q := url.Values{"revoke_client_id": {clientID}}
	if backURL != "" {
		q.Set("back_url", backURL)
	}
	return consentRevokeURL + "?" + q.Encode()
}
