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
	{Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/{name}", Endpoint: fleet.CallCommand,
		Scopes: cmdScopes, Handler: handleUnknownCommand},

	{Method: "GET", Pattern: "/api/1/energy_sites/{site_id}/live_status", Endpoint: fleet.CallLiveStatus,
		Scopes: []string{scopeEnergyData}, Handler: handleLiveStatus},
	{Method: "GET", Pattern: "/api/1/energy_sites/{site_id}/site_info", Endpoint: fleet.CallSiteInfo,
		Scopes: []string{scopeEnergyData}, Handler: handleSiteInfo},

	// Energy commands (FLEET_API §5): wrapped by siteCommand
	// ({"response":{"code":201,"message":"Updated"}}).
	{Method: "POST", Pattern: "/api/1/energy_sites/{site_id}/backup", Endpoint: fleet.CallEnergyCommand,
		Scopes: []string{scopeEnergyCmds}, Handler: siteCommand(cmdBackupReserve)},
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
