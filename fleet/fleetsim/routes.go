package fleetsim

import "github.com/tesla2mqtt/tesla2mqtt/fleet"

// The route table: the one place where the simulator's endpoints are
// registered. To add an endpoint (a vehicle or energy command, fleet_status…)
// append a row; the dispatcher in ServeHTTP does the rest:
//
//   - Method and Pattern select the row. Pattern segments in braces are
//     variables; the row with the most literal segments wins, so
//     ".../command/door_lock" beats ".../command/{name}".
//   - {tag} is resolved to the car (VIN or numeric id) and {site_id} to the
//     energy site before the handler runs; unknown ones answer 404 and a
//     non-numeric site id 400, so handlers never see them.
//   - Endpoint is the metering name (Counts, Billable, FailNext, SetLatency,
//     SetMalformed all key on it).
//   - Scopes: the token needs at least one of them (any-of); empty = any
//     valid token. Public rows need no token at all.
//   - Handler runs with the simulator's mutex held and all state already
//     advanced to request.Now; it must not call exported Sim methods.
var routes = []route{
	{Method: "GET", Pattern: "/status", Endpoint: endpointStatus, Public: true, Handler: handleStatus},
	{Method: "GET", Pattern: "/api/1/users/region", Endpoint: fleet.CallUsersRegion, Handler: handleRegion},
	{Method: "GET", Pattern: "/api/1/products", Endpoint: fleet.CallProducts,
		Scopes: []string{scopeVehicleData, scopeEnergyData}, Handler: handleProducts},

	{Method: "GET", Pattern: "/api/1/vehicles", Endpoint: fleet.CallVehicles,
		Scopes: []string{scopeVehicleData}, Handler: handleVehicles},
	{Method: "GET", Pattern: "/api/1/vehicles/{tag}", Endpoint: fleet.CallVehicle,
		Scopes: []string{scopeVehicleData}, Handler: handleVehicle},
	{Method: "GET", Pattern: "/api/1/vehicles/{tag}/vehicle_data", Endpoint: fleet.CallVehicleData,
		Scopes: []string{scopeVehicleData}, Handler: handleVehicleData},
	// FLEET_API §1.5 lists wake_up under vehicle_cmds.
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/wake_up", Endpoint: fleet.CallWakeUp,
		Scopes: []string{scopeVehicleCmds}, Handler: handleWakeUp},

	// REST vehicle commands (FLEET_API §3.3): one row per command, each
	// wrapped by vehicleCommand (asleep → 408, signing required → 403,
	// JSON body, {"result","reason"} envelope). Charging commands take
	// chargingScopes. The catch-all row answers unknown commands.
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/door_lock", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdDoorLock)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/door_unlock", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdDoorUnlock)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/charge_start", Endpoint: fleet.CallCommand,
		Scopes: chargingScopes, Handler: vehicleCommand(cmdChargeStart)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/charge_stop", Endpoint: fleet.CallCommand,
		Scopes: chargingScopes, Handler: vehicleCommand(cmdChargeStop)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_charge_limit", Endpoint: fleet.CallCommand,
		Scopes: chargingScopes, Handler: vehicleCommand(cmdSetChargeLimit)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_charging_amps", Endpoint: fleet.CallCommand,
		Scopes: chargingScopes, Handler: vehicleCommand(cmdSetChargingAmps)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/charge_port_door_open", Endpoint: fleet.CallCommand,
		Scopes: chargingScopes, Handler: vehicleCommand(cmdChargePortOpen)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/charge_port_door_close", Endpoint: fleet.CallCommand,
		Scopes: chargingScopes, Handler: vehicleCommand(cmdChargePortClose)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/auto_conditioning_start", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdClimateStart)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/auto_conditioning_stop", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdClimateStop)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_temps", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdSetTemps)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_preconditioning_max", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdPreconditioningMax)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/remote_seat_heater_request", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdSeatHeater)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/remote_steering_wheel_heater_request", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdSteeringWheelHeater)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_climate_keeper_mode", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdClimateKeeper)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_cabin_overheat_protection", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdCabinOverheat)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_sentry_mode", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdSentry)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/actuate_trunk", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdActuateTrunk)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/window_control", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdWindowControl)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/flash_lights", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdFlashLights)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/honk_horn", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: vehicleCommand(cmdHonkHorn)},
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/{name}", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: handleUnknownCommand},

	// Signed commands (vcp.go): the car's side of the Vehicle Command
	// Protocol. Tesla accepts whichever scope the wrapped command needs.
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/signed_command", Endpoint: fleet.CallSignedCommand,
		Scopes: chargingScopes, Handler: handleSignedCommand},

	{Method: "GET", Pattern: "/api/1/energy_sites/{site_id}/live_status", Endpoint: fleet.CallLiveStatus,
		Scopes: []string{scopeEnergyData}, Handler: handleLiveStatus},
	{Method: "GET", Pattern: "/api/1/energy_sites/{site_id}/site_info", Endpoint: fleet.CallSiteInfo,
		Scopes: []string{scopeEnergyData}, Handler: handleSiteInfo},

	// Energy commands (FLEET_API §5): wrapped by siteCommand
	// ({"response":{"code":201,"message":"Updated"}}).
	{Method: "POST", Pattern: "/api/1/energy_sites/{site_id}/backup", Endpoint: fleet.CallEnergyCommand,
		Scopes: []string{scopeEnergyCmds}, Handler: siteCommand(batteryOnly(cmdBackupReserve))},
	{Method: "POST", Pattern: "/api/1/energy_sites/{site_id}/operation", Endpoint: fleet.CallEnergyCommand,
		Scopes: []string{scopeEnergyCmds}, Handler: siteCommand(batteryOnly(cmdOperation))},
	{Method: "POST", Pattern: "/api/1/energy_sites/{site_id}/storm_mode", Endpoint: fleet.CallEnergyCommand,
		Scopes: []string{scopeEnergyCmds}, Handler: siteCommand(batteryOnly(cmdStormMode))},
	{Method: "POST", Pattern: "/api/1/energy_sites/{site_id}/grid_import_export", Endpoint: fleet.CallEnergyCommand,
		Scopes: []string{scopeEnergyCmds}, Handler: siteCommand(batteryOnly(cmdGridImportExport))},
	{Method: "POST", Pattern: "/api/1/energy_sites/{site_id}/off_grid_vehicle_charging_reserve", Endpoint: fleet.CallEnergyCommand,
		Scopes: []string{scopeEnergyCmds}, Handler: siteCommand(batteryOnly(cmdOffGridReserve))},
	{Method: "GET", Pattern: "/api/1/energy_sites/{site_id}/calendar_history", Endpoint: fleet.CallCalendarHistory,
		Scopes: []string{scopeEnergyData}, Handler: handleCalendarHistory},

	// Onboarding (oauth.go): Tesla's OAuth endpoints, the app domain's
	// public key, partner registration and key pairing status.
	{Method: "GET", Pattern: "/oauth2/v3/authorize", Endpoint: fleet.CallOAuthAuthorize, Public: true, Handler: handleAuthorize},
	{Method: "POST", Pattern: "/oauth2/v3/token", Endpoint: fleet.CallOAuthToken, Public: true, Handler: handleToken},
	{Method: "GET", Pattern: wellKnownKeyURL, Endpoint: fleet.CallAppPublicKey, Public: true, Handler: handleAppKey},
	{Method: "POST", Pattern: "/api/1/partner_accounts", Endpoint: fleet.CallPartnerRegister, Handler: handlePartnerRegister},
	{Method: "GET", Pattern: "/api/1/partner_accounts/public_key", Endpoint: fleet.CallPartnerPublicKey, Handler: handlePartnerPublicKey},
	{Method: "POST", Pattern: "/api/1/vehicles/fleet_status", Endpoint: fleet.CallFleetStatus,
		Scopes: []string{scopeVehicleData, scopeVehicleCmds, scopeVehicleLocation}, Handler: handleFleetStatus},

	// Fleet Telemetry (telemetry.go): the signed config, its status, the
	// car's streaming errors and removal.
	{Method: "POST", Pattern: "/api/1/vehicles/fleet_telemetry_config_jws", Endpoint: fleet.CallTelemetryConfigure,
		Scopes: []string{scopeVehicleData}, Handler: handleTelemetryConfigure},
	{Method: "GET", Pattern: "/api/1/vehicles/{tag}/fleet_telemetry_config", Endpoint: fleet.CallTelemetryStatus,
		Scopes: []string{scopeVehicleData}, Handler: handleTelemetryStatus},
	{Method: "DELETE", Pattern: "/api/1/vehicles/{tag}/fleet_telemetry_config", Endpoint: fleet.CallTelemetryRemove,
		Scopes: []string{scopeVehicleData}, Handler: handleTelemetryRemove},
	{Method: "GET", Pattern: "/api/1/vehicles/{tag}/fleet_telemetry_errors", Endpoint: fleet.CallTelemetryErrors,
		Scopes: []string{scopeVehicleData}, Handler: handleTelemetryErrors},
}

// Scope names (FLEET_API §1.5), shortened for the table.
const (
	scopeVehicleData     = fleet.ScopeVehicleDeviceData
	scopeVehicleLocation = fleet.ScopeVehicleLocation
	scopeVehicleCmds     = fleet.ScopeVehicleCmds
	scopeChargingCmds    = fleet.ScopeVehicleChargingCmds
	scopeEnergyData      = fleet.ScopeEnergyDeviceData
	scopeEnergyCmds      = fleet.ScopeEnergyCmds
)

// cmdScopes is what an ordinary vehicle command needs; chargingScopes is for
// the [C] commands, which Tesla lists under both scopes.
var (
	cmdScopes      = []string{scopeVehicleCmds}
	chargingScopes = []string{scopeVehicleCmds, scopeChargingCmds}
)

// handlerFunc answers one routed request. See the routes comment.
type handlerFunc func(s *Sim, r *request) response

// route is one row of the table.
type route struct {
	Method   string
	Pattern  string
	Endpoint string
	Scopes   []string
	Public   bool
	Handler  handlerFunc

	segs     []string // split Pattern, filled by init
	literals int
}

// init splits every pattern once, so matching is read-only and race-free.
func init() {
	for i := range routes {
		rt := &routes[i]
		rt.segs = splitPath(rt.Pattern)
		for _, p := range rt.segs {
			if !isVar(p) {
				rt.literals++
			}
		}
	}
}

// match reports whether path matches the pattern and returns its variables.
func (rt *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var vars map[string]string
	for i, p := range rt.segs {
		if isVar(p) {
			if segs[i] == "" {
				return nil, false
			}
			if vars == nil {
				vars = map[string]string{}
			}
			vars[p[1:len(p)-1]] = segs[i]
		} else if p != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

func isVar(seg string) bool { return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' }

func splitPath(p string) []string {
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	out := []string{}
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}

// lookup finds the most specific route for method and path. pathMatched
// reports whether some route matched the path with another method.
func lookup(method, path string) (rt *route, vars map[string]string, pathMatched bool) {
	segs := splitPath(path)
	best := -1
	for i := range routes {
		v, ok := routes[i].match(segs)
		if !ok {
			continue
		}
		if routes[i].Method != method {
			pathMatched = true
			continue
		}
		if rt == nil || routes[i].literals > best {
			rt, vars, best = &routes[i], v, routes[i].literals
		}
	}
	return rt, vars, pathMatched
}
