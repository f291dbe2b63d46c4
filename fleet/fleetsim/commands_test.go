package fleetsim

import (
	"net/http"
	"testing"
)

// cmd posts a command to the red car (online, charging, 62 % of 80 %) and
// returns result and reason.
func (e *env) cmd(vin, name, body string) (bool, string) {
	e.t.Helper()
	r := e.post("/api/1/vehicles/"+vin+"/command/"+name, body)
	res := r.want(e.t, http.StatusOK)
	ok, _ := res["result"].(bool)
	reason, _ := res["reason"].(string)
	return ok, reason
}

func (e *env) wantCmd(vin, name, body string) {
	e.t.Helper()
	if ok, reason := e.cmd(vin, name, body); !ok {
		e.t.Fatalf("%s %s refused: %q", name, body, reason)
	}
}

func (e *env) wantRefused(vin, name, body, want string) {
	e.t.Helper()
	if ok, reason := e.cmd(vin, name, body); ok || reason != want {
		e.t.Fatalf("%s %s = (%v, %q), want (false, %q)", name, body, ok, reason, want)
	}
}

func (e *env) update(vin string, fn func(*VehicleSnapshot)) {
	e.t.Helper()
	if err := e.sim.Update(vin, fn); err != nil {
		e.t.Fatal(err)
	}
}

func TestChargingCommands(t *testing.T) {
	e := newEnv(t)
	e.wantRefused(vinRed, "charge_start", "", "is_charging")
	e.wantCmd(vinRed, "charge_stop", "")
	if s := e.sim.Snapshot(vinRed); s.ChargingState != ChargingStopped {
		t.Fatalf("after charge_stop: %s", s.ChargingState)
	}
	e.wantRefused(vinRed, "charge_stop", "", "not_charging")
	e.wantCmd(vinRed, "charge_start", "")
	if s := e.sim.Snapshot(vinRed); s.ChargingState != ChargingCharging {
		t.Fatalf("after charge_start: %s", s.ChargingState)
	}

	e.wantCmd(vinRed, "set_charge_limit", `{"percent":90}`)
	e.wantRefused(vinRed, "set_charge_limit", `{"percent":90}`, "already_set")
	// Tesla: an invalid percent returns success; the limit stays.
	e.wantCmd(vinRed, "set_charge_limit", `{"percent":120}`)
	if s := e.sim.Snapshot(vinRed); s.ChargeLimit != 90 {
		t.Fatalf("charge limit = %v, want 90", s.ChargeLimit)
	}
	e.wantRefused(vinRed, "set_charge_limit", `{}`, reasonInvalid)

	e.wantCmd(vinRed, "set_charging_amps", `{"charging_amps":16}`)
	if s := e.sim.Snapshot(vinRed); s.ChargeAmps != 16 || s.ChargerPowerKW() != 16*230.0/1000 {
		t.Fatalf("amps = %v, power %v", s.ChargeAmps, s.ChargerPowerKW())
	}
	e.wantCmd(vinRed, "set_charging_amps", `{"charging_amps":80}`)
	if s := e.sim.Snapshot(vinRed); s.ChargeAmps != 32 {
		t.Fatalf("amps above the car's max = %v, want clamped to 32", s.ChargeAmps)
	}
	e.wantRefused(vinRed, "set_charging_amps", `{"charging_amps":"lots"}`, reasonInvalid)

	// Complete: start is refused; raising the limit resumes charging.
	e.update(vinRed, func(v *VehicleSnapshot) { v.ChargingState, v.BatteryLevel, v.ChargeLimit = ChargingComplete, 80, 80 })
	e.wantRefused(vinRed, "charge_start", "", "complete")
	e.wantCmd(vinRed, "set_charge_limit", `{"percent":85}`)
	if s := e.sim.Snapshot(vinRed); s.ChargingState != ChargingCharging {
		t.Fatalf("raising the limit of a complete car: %s", s.ChargingState)
	}

	// Unplugged: nothing to start or stop; the port door closes.
	e.wantRefused(vinRed, "charge_port_door_close", "", "charge_cable_connected")
	e.update(vinRed, func(v *VehicleSnapshot) { v.ChargingState = ChargingDisconnected })
	e.wantRefused(vinRed, "charge_start", "", "disconnected")
	e.wantRefused(vinRed, "charge_stop", "", "not_charging")
	e.wantCmd(vinRed, "charge_port_door_close", "")
	if e.sim.Snapshot(vinRed).ChargePortOpen {
		t.Fatal("charge port still open")
	}
	e.wantCmd(vinRed, "charge_port_door_open", "")
	if !e.sim.Snapshot(vinRed).ChargePortOpen {
		t.Fatal("charge port still closed")
	}
}

func TestClimateCommands(t *testing.T) {
	e := newEnv(t)
	e.wantCmd(vinRed, "auto_conditioning_start", "")
	e.wantCmd(vinRed, "set_temps", `{"driver_temp":22.5,"passenger_temp":20}`)
	s := e.sim.Snapshot(vinRed)
	if !s.ClimateOn || s.DriverTemp != 22.5 || s.PassengerTemp != 20 {
		t.Fatalf("climate = %v %v/%v", s.ClimateOn, s.DriverTemp, s.PassengerTemp)
	}
	e.wantCmd(vinRed, "set_temps", `{"driver_temp":40,"passenger_temp":5}`)
	if s := e.sim.Snapshot(vinRed); s.DriverTemp != 28 || s.PassengerTemp != 15 {
		t.Fatalf("temps not clamped to 15–28: %v/%v", s.DriverTemp, s.PassengerTemp)
	}
	e.wantRefused(vinRed, "set_temps", `{"driver_temp":21}`, reasonInvalid)

	e.wantCmd(vinRed, "remote_seat_heater_request", `{"seat_position":5,"level":3}`)
	e.wantCmd(vinRed, "remote_seat_heater_request", `{"heater":0,"level":1}`)
	e.wantRefused(vinRed, "remote_seat_heater_request", `{"seat_position":1,"level":4}`, reasonInvalid)
	e.wantCmd(vinRed, "remote_steering_wheel_heater_request", `{"on":true}`)
	e.wantCmd(vinRed, "set_cabin_overheat_protection", `{"on":true,"fan_only":true}`)
	e.wantCmd(vinRed, "set_preconditioning_max", `{"on":true,"manual_override":true}`)

	data := e.get("/api/1/vehicles/"+vinRed+"/vehicle_data").want(t, http.StatusOK)
	cl := data["climate_state"].(map[string]any)
	for k, want := range map[string]any{
		"seat_heater_rear_right": 3.0, "seat_heater_left": 1.0, "seat_heater_right": 0.0,
		"steering_wheel_heater": true, "cabin_overheat_protection": "FanOnly", "defrost_mode": 2.0,
		"is_front_defroster_on": true, "is_climate_on": true,
	} {
		if cl[k] != want {
			t.Errorf("climate_state.%s = %v, want %v", k, cl[k], want)
		}
	}

	e.wantCmd(vinRed, "set_climate_keeper_mode", `{"climate_keeper_mode":2,"manual_override":true}`)
	if s := e.sim.Snapshot(vinRed); s.ClimateKeeper != "dog" {
		t.Fatalf("keeper = %q", s.ClimateKeeper)
	}
	e.wantRefused(vinRed, "set_climate_keeper_mode", `{"climate_keeper_mode":7}`, reasonInvalid)

	e.wantCmd(vinRed, "auto_conditioning_stop", "")
	if s := e.sim.Snapshot(vinRed); s.ClimateOn || s.DefrostMax || s.ClimateKeeper != "off" {
		t.Fatalf("after stop: on=%v defrost=%v keeper=%q", s.ClimateOn, s.DefrostMax, s.ClimateKeeper)
	}
}

// Dog mode keeps the car awake, as it does the real one.
func TestClimateKeeperKeepsCarAwake(t *testing.T) {
	e := newEnv(t)
	e.update(vinRed, func(v *VehicleSnapshot) { v.ChargingState = ChargingStopped })
	e.wantCmd(vinRed, "set_climate_keeper_mode", `{"climate_keeper_mode":2}`)
	e.clock.Advance(3 * DefaultSleepAfter)
	if st := e.sim.Snapshot(vinRed).State; st != "online" {
		t.Fatalf("dog mode car state = %s", st)
	}
}

func TestBodyCommands(t *testing.T) {
	e := newEnv(t)
	e.wantCmd(vinRed, "set_sentry_mode", `{"on":true}`)
	if !e.sim.Snapshot(vinRed).Sentry {
		t.Fatal("sentry off")
	}
	e.wantRefused(vinRed, "set_sentry_mode", `{"on":"yes"}`, reasonInvalid)

	e.wantCmd(vinRed, "actuate_trunk", `{"which_trunk":"rear"}`)
	e.wantCmd(vinRed, "actuate_trunk", `{"which_trunk":"front"}`)
	data := e.get("/api/1/vehicles/"+vinRed+"/vehicle_data").want(t, http.StatusOK)
	vs := data["vehicle_state"].(map[string]any)
	if vs["rt"] != 1.0 || vs["ft"] != 1.0 {
		t.Fatalf("ft/rt = %v/%v after opening both", vs["ft"], vs["rt"])
	}
	e.wantCmd(vinRed, "actuate_trunk", `{"which_trunk":"rear"}`)
	e.wantCmd(vinRed, "actuate_trunk", `{"which_trunk":"front"}`)
	if s := e.sim.Snapshot(vinRed); s.TrunkOpen || !s.FrunkOpen {
		t.Fatalf("second press: trunk open=%v (want closed), frunk open=%v (want still open)", s.TrunkOpen, s.FrunkOpen)
	}
	e.wantRefused(vinRed, "actuate_trunk", `{"which_trunk":"side"}`, reasonInvalid)

	e.wantCmd(vinRed, "window_control", `{"command":"vent","lat":52.39,"lon":13.06}`)
	data = e.get("/api/1/vehicles/"+vinRed+"/vehicle_data").want(t, http.StatusOK)
	if w := data["vehicle_state"].(map[string]any)["rp_window"]; w != 1.0 {
		t.Fatalf("rp_window = %v after vent", w)
	}
	e.wantCmd(vinRed, "window_control", `{"command":"close","lat":52.39,"lon":13.06}`)
	if e.sim.Snapshot(vinRed).WindowsVented {
		t.Fatal("windows still vented")
	}
	e.wantRefused(vinRed, "window_control", `{"command":"close"}`, reasonInvalid)

	e.wantCmd(vinRed, "flash_lights", "")
	e.wantCmd(vinRed, "honk_horn", "")
	e.wantCmd(vinRed, "honk_horn", "")
	if s := e.sim.Snapshot(vinRed); s.Flashes != 1 || s.Honks != 2 {
		t.Fatalf("flashes %d honks %d", s.Flashes, s.Honks)
	}
}

// Every command row goes through vehicleCommand: an asleep car answers 408
// and its state does not change.
func TestCommandsToAsleepCar(t *testing.T) {
	e := newEnv(t)
	e.update(vinBlue, func(v *VehicleSnapshot) { v.CommandSigning = "allowed" })
	for _, rt := range routes {
		if rt.Endpoint != "command" || rt.segs[len(rt.segs)-1] == "{name}" {
			continue
		}
		path := "/api/1/vehicles/" + vinBlue + "/command/" + rt.segs[len(rt.segs)-1]
		e.post(path, `{"on":true}`).wantError(t, http.StatusRequestTimeout, errAsleep)
	}
	if s := e.sim.Snapshot(vinBlue); s.Sentry || s.State != "asleep" {
		t.Fatalf("asleep car changed: sentry=%v state=%s", s.Sentry, s.State)
	}
}

// Charging commands need vehicle_charging_cmds or vehicle_cmds; a token
// with only the charging scope cannot lock the car.
func TestChargingScope(t *testing.T) {
	e := newEnv(t)
	tok := e.sim.MintToken([]string{scopeVehicleData, scopeChargingCmds}, 3600e9)
	if r := e.call("POST", "/api/1/vehicles/"+vinRed+"/command/charge_stop", tok, ""); r.status != http.StatusOK {
		t.Fatalf("charge_stop with charging scope: %d %s", r.status, r.raw)
	}
	if r := e.call("POST", "/api/1/vehicles/"+vinRed+"/command/door_unlock", tok, ""); r.status != http.StatusForbidden {
		t.Fatalf("door_unlock with charging scope only: %d %s", r.status, r.raw)
	}
}
