package fleetsim

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
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
	R    *request // the request, for its time and whether it came over BLE
	V    *vehicleSim
	Args map[string]any // the JSON body
}

// siteCmd is the context of one energy site command.
type siteCmd struct {
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
		s.executed[v.snap.VIN]++
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
		s.executed[strconv.FormatInt(r.Site.id, 10)]++
		if accepted, reason := fn(&siteCmd{Site: r.Site, Args: args}); !accepted {
			return apiError(http.StatusBadRequest, reason)
		}
		return ok(map[string]any{"code": 201, "message": "Updated"})
	}
}

// handleUnknownCommand answers commands nobody registered yet.
func handleUnknownCommand(_ *Sim, _ *request) response {
	return apiError(http.StatusBadRequest, "invalid_command")
}

// ---- vehicle commands (FLEET_API §3.3) ----
//
// Refusals use Tesla's reasons where FLEET_API documents them (already_set,
// is_charging, not_charging, complete, disconnected); a parameter the car
// cannot use answers result:false "invalid_field" (sim wording).

const reasonInvalid = "invalid_field"

func cmdDoorLock(c *vehicleCmd) (bool, string) {
	c.V.snap.Locked = true
	return true, ""
}

func cmdDoorUnlock(c *vehicleCmd) (bool, string) {
	c.V.snap.Locked = false
	return true, ""
}

// cmdChargeStart refuses as a car does when there is nothing to start.
func cmdChargeStart(c *vehicleCmd) (bool, string) {
	s := &c.V.snap
	switch {
	case !s.PluggedIn():
		return false, "disconnected"
	case s.ChargingState == ChargingCharging:
		return false, "is_charging"
	case s.ChargingState == ChargingComplete || s.BatteryLevel >= s.ChargeLimit:
		return false, "complete"
	}
	s.ChargingState = ChargingCharging
	if s.ChargerVoltage <= 0 {
		s.ChargerVoltage = 230
	}
	return true, ""
}

func cmdChargeStop(c *vehicleCmd) (bool, string) {
	s := &c.V.snap
	if s.ChargingState != ChargingCharging {
		return false, "not_charging"
	}
	s.ChargingState = ChargingStopped
	return true, ""
}

// cmdSetChargeLimit: the same limit again is already_set. Tesla documents
// that an invalid percent "will return success"; the sim then keeps the
// old limit. Raising the limit of a plugged-in, complete car resumes
// charging, as the car does.
func cmdSetChargeLimit(c *vehicleCmd) (bool, string) {
	s := &c.V.snap
	p, found := c.Float("percent")
	if !found {
		return false, reasonInvalid
	}
	if p < 50 || p > 100 || p != math.Trunc(p) {
		return true, ""
	}
	if p == s.ChargeLimit {
		return false, "already_set"
	}
	s.ChargeLimit = p
	if s.ChargingState == ChargingComplete && s.BatteryLevel < p {
		s.ChargingState = ChargingCharging
	}
	return true, ""
}

// cmdSetChargingAmps clamps to the car's maximum, as the car does.
func cmdSetChargingAmps(c *vehicleCmd) (bool, string) {
	s := &c.V.snap
	a, found := c.Float("charging_amps")
	if !found || a < 0 || a != math.Trunc(a) {
		return false, reasonInvalid
	}
	if s.ChargeCurrentMax > 0 && a > s.ChargeCurrentMax {
		a = s.ChargeCurrentMax
	}
	s.ChargeAmps = a
	return true, ""
}

func cmdChargePortOpen(c *vehicleCmd) (bool, string) {
	c.V.snap.ChargePortOpen = true
	return true, ""
}

// cmdChargePortClose: the door cannot close over a cable (sim wording).
func cmdChargePortClose(c *vehicleCmd) (bool, string) {
	if c.V.snap.PluggedIn() {
		return false, "charge_cable_connected"
	}
	c.V.snap.ChargePortOpen = false
	return true, ""
}

func cmdClimateStart(c *vehicleCmd) (bool, string) {
	c.V.snap.ClimateOn = true
	return true, ""
}

// cmdClimateStop also ends max defrost and climate keeper, which need the
// HVAC running.
func cmdClimateStop(c *vehicleCmd) (bool, string) {
	s := &c.V.snap
	s.ClimateOn, s.DefrostMax, s.ClimateKeeper = false, false, "off"
	return true, ""
}

// cmdSetTemps clamps to the car's 15–28 °C range.
func cmdSetTemps(c *vehicleCmd) (bool, string) {
	d, okD := c.Float("driver_temp")
	p, okP := c.Float("passenger_temp")
	if !okD || !okP {
		return false, reasonInvalid
	}
	c.V.snap.DriverTemp = math.Min(28, math.Max(15, d))
	c.V.snap.PassengerTemp = math.Min(28, math.Max(15, p))
	return true, ""
}

func cmdPreconditioningMax(c *vehicleCmd) (bool, string) {
	on, found := c.Bool("on")
	if !found {
		return false, reasonInvalid
	}
	c.V.snap.DefrostMax = on
	if on {
		c.V.snap.ClimateOn = true
	}
	return true, ""
}

// cmdSeatHeater takes seat_position (or the legacy heater) and level 0–3.
func cmdSeatHeater(c *vehicleCmd) (bool, string) {
	pos, found := c.Float("seat_position")
	if !found {
		pos, found = c.Float("heater")
	}
	level, okL := c.Float("level")
	if !found || !okL || pos < 0 || pos > 8 || pos != math.Trunc(pos) ||
		level < 0 || level > 3 || level != math.Trunc(level) {
		return false, reasonInvalid
	}
	c.V.snap.SeatHeaters[int(pos)] = int(level)
	return true, ""
}

func cmdSteeringWheelHeater(c *vehicleCmd) (bool, string) {
	on, found := c.Bool("on")
	if !found {
		return false, reasonInvalid
	}
	c.V.snap.SteeringWheelHeater = on
	return true, ""
}

var climateKeeperModes = []string{"off", "keep", "dog", "camp"}

// cmdClimateKeeper: keep, dog and camp run the climate; off ends keeper
// mode but leaves the climate as it is.
func cmdClimateKeeper(c *vehicleCmd) (bool, string) {
	m, found := c.Float("climate_keeper_mode")
	if !found || m < 0 || int(m) >= len(climateKeeperModes) || m != math.Trunc(m) {
		return false, reasonInvalid
	}
	c.V.snap.ClimateKeeper = climateKeeperModes[int(m)]
	if m > 0 {
		c.V.snap.ClimateOn = true
	}
	return true, ""
}

func cmdCabinOverheat(c *vehicleCmd) (bool, string) {
	on, found := c.Bool("on")
	if !found {
		return false, reasonInvalid
	}
	fanOnly, _ := c.Bool("fan_only")
	switch {
	case !on:
		c.V.snap.CabinOverheat = "Off"
	case fanOnly:
		c.V.snap.CabinOverheat = "FanOnly"
	default:
		c.V.snap.CabinOverheat = "On"
	}
	return true, ""
}

func cmdSentry(c *vehicleCmd) (bool, string) {
	on, found := c.Bool("on")
	if !found {
		return false, reasonInvalid
	}
	c.V.snap.Sentry = on
	return true, ""
}

// cmdActuateTrunk toggles the powered rear trunk; the frunk only opens
// (it has no motor to close it).
func cmdActuateTrunk(c *vehicleCmd) (bool, string) {
	which, _ := c.String("which_trunk")
	switch which {
	case "front":
		c.V.snap.FrunkOpen = true
	case "rear":
		c.V.snap.TrunkOpen = !c.V.snap.TrunkOpen
	default:
		return false, reasonInvalid
	}
	return true, ""
}

// cmdWindowControl vents or closes all windows. lat/lon are required by
// the API; the sim's cars (Model 3/Y platform) do not check them.
func cmdWindowControl(c *vehicleCmd) (bool, string) {
	cmd, _ := c.String("command")
	_, okLat := c.Float("lat")
	_, okLon := c.Float("lon")
	if !okLat || !okLon {
		return false, reasonInvalid
	}
	switch cmd {
	case "vent":
		c.V.snap.WindowsVented = true
	case "close":
		c.V.snap.WindowsVented = false
	default:
		return false, reasonInvalid
	}
	return true, ""
}

func cmdFlashLights(c *vehicleCmd) (bool, string) {
	c.V.snap.Flashes++
	return true, ""
}

func cmdHonkHorn(c *vehicleCmd) (bool, string) {
	c.V.snap.Honks++
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
