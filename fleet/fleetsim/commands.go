package fleetsim

import (
	"encoding/json"
	"net/http"
)

// Commands. A vehicle command is a func that changes the car's state and
// says whether the car accepted it; vehicleCommand turns it into a route
// handler with Tesla's behaviour around it. To add one:
//
//  1. write  func cmdSetChargeLimit(c *vehicleCmd) (bool, string)  here
//     (read parameters with c.Float("percent") / c.Bool("on") / c.String(…),
//     change c.V.snap, return false plus Tesla's reason, e.g. "already_set",
//     to refuse);
//  2. add a row to routes.go:
//     {Method: "POST", Pattern: "/api/1/vehicles/{tag}/command/set_charge_limit",
//     Endpoint: "command", Scopes: chargingScopes, Handler: vehicleCommand(cmdSetChargeLimit)}.
//
// Energy commands work the same way with siteCommand and *siteCmd.

// vehicleCmd is the context of one vehicle command.
type vehicleCmd struct {
	S    *Sim
	R    *request
	V    *vehicleSim
	Args map[string]any // the JSON body
}

// siteCmd is the context of one energy site command.
type siteCmd struct {
	S    *Sim
	R    *request
	Site *siteSim
	Args map[string]any
}

// argFloat returns the JSON number args[key].
func argFloat(args map[string]any, key string) (float64, bool) {
	switch x := args[key].(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// Float returns the numeric parameter key.
func (c *vehicleCmd) Float(key string) (float64, bool) { return argFloat(c.Args, key) }

// Bool returns the boolean parameter key.
func (c *vehicleCmd) Bool(key string) (bool, bool) { b, found := c.Args[key].(bool); return b, found }

// String returns the string parameter key.
func (c *vehicleCmd) String(key string) (string, bool) {
	s, found := c.Args[key].(string)
	return s, found
}

// Float returns the numeric parameter key.
func (c *siteCmd) Float(key string) (float64, bool) { return argFloat(c.Args, key) }

// Bool returns the boolean parameter key.
func (c *siteCmd) Bool(key string) (bool, bool) { b, found := c.Args[key].(bool); return b, found }

// String returns the string parameter key.
func (c *siteCmd) String(key string) (string, bool) {
	s, found := c.Args[key].(string)
	return s, found
}

// parseArgs decodes a JSON object body; an empty body is no arguments.
func parseArgs(body []byte) (map[string]any, bool) {
	args := map[string]any{}
	if len(body) == 0 {
		return args, true
	}
	if err := json.Unmarshal(body, &args); err != nil || args == nil {
		return nil, false
	}
	return args, true
}

// vehicleCommand wraps a REST vehicle command (FLEET_API §3.3): 403 when the
// car requires signed commands, 408 unless online, 400 on a body that is not
// a JSON object; otherwise the command runs, counts as activity (keeps the
// car awake) and answers {"response":{"result":…,"reason":…}}.
func vehicleCommand(fn func(*vehicleCmd) (bool, string)) handlerFunc {
	return func(s *Sim, r *request) response {
		v := r.Vehicle
		if v.snap.CommandSigning == "required" {
			return apiError(http.StatusForbidden, errProtocol)
		}
		if !v.online() {
			return apiError(http.StatusRequestTimeout, errAsleep)
		}
		args, good := parseArgs(r.Body)
		if !good {
			return apiError(http.StatusBadRequest, "invalid_request")
		}
		v.touch(r.Now)
		result, reason := fn(&vehicleCmd{S: s, R: r, V: v, Args: args})
		return ok(map[string]any{"result": result, "reason": reason})
	}
}

// siteCommand wraps an energy site command: 400 on a bad body or when fn
// refuses (its reason becomes the error), else {"code":201,"message":"Updated"}.
func siteCommand(fn func(*siteCmd) (bool, string)) handlerFunc {
	return func(s *Sim, r *request) response {
		args, good := parseArgs(r.Body)
		if !good {
			return apiError(http.StatusBadRequest, "invalid_request")
		}
		if accepted, reason := fn(&siteCmd{S: s, R: r, Site: r.Site, Args: args}); !accepted {
			return apiError(http.StatusBadRequest, reason)
		}
		return ok(map[string]any{"code": 201, "message": "Updated"})
	}
}

// handleUnknownCommand answers commands nobody registered yet.
func handleUnknownCommand(_ *Sim, _ *request) response {
	return apiError(http.StatusBadRequest, "invalid_command")
}

// ---- example commands ----

func cmdDoorLock(c *vehicleCmd) (bool, string) {
	c.V.snap.Locked = true
	return true, ""
}

func cmdDoorUnlock(c *vehicleCmd) (bool, string) {
	c.V.snap.Locked = false
	return true, ""
}

// cmdBackupReserve is POST …/backup {"backup_reserve_percent": int}.
func cmdBackupReserve(c *siteCmd) (bool, string) {
	p, found := c.Float("backup_reserve_percent")
	if !found || p < 0 || p > 100 {
		return false, "invalid_field"
	}
	c.Site.backupReserve = p
	return true, ""
}
