package fleetsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

func TestProductsShape(t *testing.T) {
	e := newEnv(t)
	r := e.get("/api/1/products")
	r.want(t, http.StatusOK)
	if got := num(t, r.body, "count"); got != 5 {
		t.Fatalf("count = %v, want 5 (2 cars, 3 sites)", got)
	}
	// fleet.Product cannot be used here: Tesla's energy entries carry a
	// string "id" next to the numeric energy_site_id.
	type product struct {
		fleet.Product
		ID any `json:"id"`
	}
	var products []product
	r.decode(t, &products)
	var cars, sites int
	for _, p := range products {
		switch {
		case p.IsVehicle():
			cars++
			if p.CommandSigning == "" || p.State == "" || p.DisplayName == "" || p.ID == nil {
				t.Errorf("vehicle product incomplete: %+v", p)
			}
		case p.IsEnergySite():
			sites++
			if cars != 2 {
				t.Errorf("site %d listed before the cars", p.EnergySiteID)
			}
			if sites > 1 {
				continue // the other sites: energy_test.go
			}
			if p.EnergySiteID != 1000000001 || p.SiteName != "Home" || p.ResourceType != "battery" ||
				p.PercentageCharged == nil || p.Components == nil || p.Components.StormModeCapable == nil ||
				!*p.Components.StormModeCapable || len(p.Components.WallConnectors) != 1 {
				t.Errorf("site product = %+v", p)
			}
		}
	}
	if cars != 2 || sites != 3 {
		t.Fatalf("cars=%d sites=%d", cars, sites)
	}
}

func TestVehiclesListAndPagination(t *testing.T) {
	e := newEnv(t)
	r := e.get("/api/1/vehicles")
	r.want(t, http.StatusOK)
	var list []fleet.Vehicle
	r.decode(t, &list)
	if len(list) != 2 || num(t, r.body, "count") != 2 {
		t.Fatalf("list = %+v count=%v", list, r.body["count"])
	}
	red, blue := list[0], list[1]
	if red.VIN != vinRed || red.DisplayName != "Red Three" || red.State != fleet.StateOnline ||
		red.CommandSigning != "allowed" || red.AccessType != "OWNER" || red.APIVersion == nil {
		t.Errorf("red = %+v", red)
	}
	if blue.VIN != vinBlue || blue.DisplayName != "Blue Y" || blue.State != fleet.StateAsleep || blue.CommandSigning != "required" {
		t.Errorf("blue = %+v", blue)
	}
	item := r.body["response"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "vehicle_id", "vin", "display_name", "color", "access_type", "granular_access",
		"tokens", "state", "in_service", "id_s", "calendar_enabled", "api_version", "ble_autopair_enrolled",
		"command_signing", "release_notes_supported"} {
		if _, found := item[k]; !found {
			t.Errorf("vehicle item lacks %q", k)
		}
	}

	r = e.get("/api/1/vehicles?page=2&per_page=1")
	r.want(t, http.StatusOK)
	list = nil
	r.decode(t, &list)
	if len(list) != 1 || list[0].VIN != vinBlue || num(t, r.body, "count") != 2 {
		t.Fatalf("page 2 = %+v", list)
	}
	pg := r.body["pagination"].(map[string]any)
	if pg["previous"] != 1.0 || pg["next"] != nil || pg["pages"] != 2.0 {
		t.Errorf("pagination = %v", pg)
	}
	r = e.get("/api/1/vehicles?page=9")
	r.want(t, http.StatusOK)
	if items := r.body["response"].([]any); len(items) != 0 {
		t.Errorf("page 9 = %v", items)
	}
	for _, q := range []string{"page=0", "page=x", "per_page=-1", "per_page=99999999999999999999"} {
		e.get("/api/1/vehicles?"+q).wantError(t, http.StatusBadRequest, "invalid_field")
	}
}

func TestVehicleByTag(t *testing.T) {
	e := newEnv(t)
	for _, tag := range []string{vinRed, "3744000000000001"} {
		v := e.get("/api/1/vehicles/"+tag).want(t, http.StatusOK)
		if v["vin"] != vinRed || v["state"] != "online" {
			t.Errorf("%s: %v", tag, v)
		}
	}
	for _, path := range []string{
		"/api/1/vehicles/NOPE",
		"/api/1/vehicles/99999999999999999999999999",
		"/api/1/vehicles/-1/vehicle_data",
		"/api/1/energy_sites/42/live_status",
		"/api/1/nothing",
		"/",
		"/api/1/vehicles/" + vinRed + "/vehicle_data/extra",
	} {
		e.get(path).wantError(t, http.StatusNotFound, "not_found")
	}
	e.get("/api/1/energy_sites/abc/site_info").wantError(t, http.StatusBadRequest, "invalid_field")
	e.call("DELETE", "/api/1/vehicles", e.token, "").wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	// Reading the state does not wake the car.
	if s := e.get("/api/1/vehicles/"+vinBlue).want(t, 200)["state"]; s != "asleep" {
		t.Errorf("blue state = %v", s)
	}
}

func TestVehicleDataShape(t *testing.T) {
	e := newEnv(t)
	r := e.get("/api/1/vehicles/" + vinRed + "/vehicle_data?endpoints=charge_state%3Bclimate_state%3Bvehicle_state%3Bvehicle_config%3Bgui_settings%3Blocation_data")
	r.want(t, http.StatusOK)
	var vd fleet.VehicleData
	r.decode(t, &vd)
	if vd.VIN != vinRed || vd.State != "online" || vd.Charge == nil || vd.Climate == nil || vd.Vehicle == nil ||
		vd.Config == nil || vd.GUI == nil || vd.Drive == nil {
		t.Fatalf("vehicle_data = %+v", vd)
	}
	c := vd.Charge
	if *c.BatteryLevel != 62 || *c.ChargeLimitSOC != 80 || *c.ChargingState != "Charging" || *c.ChargeAmps != 32 ||
		*c.ChargeCurrentRequestMax != 32 || *c.ChargerVoltage != 230 || *c.ChargerPower != 7 || *c.ChargerPhases != 1 {
		t.Errorf("charge_state: level %v limit %v state %v amps %v volts %v power %v", *c.BatteryLevel,
			*c.ChargeLimitSOC, *c.ChargingState, *c.ChargeAmps, *c.ChargerVoltage, *c.ChargerPower)
	}
	if rng := *c.BatteryRange; rng < 200 || rng > 210 {
		t.Errorf("battery_range = %v miles, want ≈ 62 %% of 333", rng)
	}
	if *c.EstBatteryRange >= *c.BatteryRange {
		t.Errorf("est_battery_range %v >= battery_range %v", *c.EstBatteryRange, *c.BatteryRange)
	}
	if *vd.Climate.InsideTemp != 21.5 || *vd.Climate.OutsideTemp != 8 {
		t.Errorf("climate = %v / %v", *vd.Climate.InsideTemp, *vd.Climate.OutsideTemp)
	}
	vs := vd.Vehicle
	if *vs.Odometer != 12345.6 || *vs.CarVersion != "2026.32.5 abcdef123456" || !*vs.Locked || *vs.SentryMode ||
		*vs.TpmsPressureFL < 2 || *vs.TpmsPressureFL > 4 {
		t.Errorf("vehicle_state = %+v", vs)
	}
	if *vd.Config.CarType != "model3" {
		t.Errorf("car_type = %v", *vd.Config.CarType)
	}
	if vd.Drive.Latitude == nil || vd.Drive.ShiftState != nil || *vd.Drive.Power != -7 {
		t.Errorf("drive_state = %+v", vd.Drive)
	}
	if _, found := r.body["response"].(map[string]any)["drive_state"].(map[string]any)["shift_state"]; !found {
		t.Error("shift_state must be present as null")
	}
}

func TestVehicleDataBlocksAndLocation(t *testing.T) {
	e := newEnv(t)
	dataOnly := e.sim.MintToken([]string{fleet.ScopeVehicleDeviceData}, time.Hour)
	withLoc := e.sim.MintToken([]string{fleet.ScopeVehicleDeviceData, fleet.ScopeVehicleLocation}, time.Hour)
	path := "/api/1/vehicles/" + vinRed + "/vehicle_data"
	keys := func(tok, query string) (map[string]any, map[string]any) {
		t.Helper()
		resp := e.call("GET", path+query, tok, "").want(t, http.StatusOK)
		drive, _ := resp["drive_state"].(map[string]any)
		return resp, drive
	}

	// Default bundle: every block but no position; without the location
	// scope no drive_state at all.
	resp, drive := keys(withLoc, "")
	for _, b := range defaultBlocks {
		if _, found := resp[b]; !found {
			t.Errorf("default bundle lacks %s", b)
		}
	}
	if drive == nil || drive["latitude"] != nil || drive["longitude"] != nil {
		t.Errorf("default drive_state = %v", drive)
	}
	if _, drive = keys(dataOnly, ""); drive != nil {
		t.Errorf("drive_state without vehicle_location: %v", drive)
	}
	if _, drive = keys(dataOnly, "?endpoints=location_data;drive_state"); drive != nil {
		t.Errorf("location without vehicle_location: %v", drive)
	}
	_, drive = keys(withLoc, "?endpoints=location_data;drive_state")
	if drive["latitude"] == nil || drive["longitude"] == nil || drive["heading"] == nil {
		t.Errorf("location_data drive_state = %v", drive)
	}
	_, drive = keys(withLoc, "?endpoints=drive_state")
	if drive == nil || drive["latitude"] != nil {
		t.Errorf("drive_state without location_data = %v", drive)
	}

	// Only the requested blocks.
	resp, _ = keys(withLoc, "?endpoints=charge_state")
	if resp["charge_state"] == nil {
		t.Error("charge_state missing")
	}
	for _, b := range []string{"climate_state", "drive_state", "vehicle_state", "vehicle_config", "gui_settings"} {
		if _, found := resp[b]; found {
			t.Errorf("unrequested block %s present", b)
		}
	}
	resp, _ = keys(withLoc, "?endpoints=closures_state;bogus")
	if resp["vehicle_state"] == nil || resp["charge_state"] != nil {
		t.Errorf("closures_state → %v", resp)
	}
}

func TestAsleepWakeAndSleep(t *testing.T) {
	e := newEnv(t)
	data := "/api/1/vehicles/" + vinBlue + "/vehicle_data"
	wake := "/api/1/vehicles/" + vinBlue + "/wake_up"

	e.get(data).wantError(t, http.StatusRequestTimeout, "vehicle unavailable: vehicle is offline or asleep")

	if s := e.post(wake, "").want(t, http.StatusOK)["state"]; s != "asleep" {
		t.Fatalf("first wake_up state = %v, want asleep", s)
	}
	e.get(data).wantError(t, http.StatusRequestTimeout, "vehicle unavailable: vehicle is offline or asleep")
	e.clock.Advance(DefaultWakeDelay - time.Second)
	if s := e.sim.VehicleState(vinBlue); s != "asleep" {
		t.Fatalf("state before WakeDelay = %s", s)
	}
	// A second wake_up does not restart the delay.
	e.post(wake, "").want(t, http.StatusOK)
	e.clock.Advance(time.Second)
	if s := e.get("/api/1/vehicles/"+vinBlue).want(t, 200)["state"]; s != "online" {
		t.Fatalf("state after WakeDelay = %v", s)
	}
	e.get(data).want(t, http.StatusOK)

	// vehicle_data keeps it awake…
	for i := 0; i < 5; i++ {
		e.clock.Advance(DefaultSleepAfter - time.Minute)
		e.get(data).want(t, http.StatusOK)
	}
	// …GET /vehicles does not, and idleness puts it to sleep.
	e.clock.Advance(DefaultSleepAfter - time.Second)
	e.get("/api/1/vehicles")
	if s := e.sim.VehicleState(vinBlue); s != "online" {
		t.Fatalf("asleep too early: %s", s)
	}
	e.clock.Advance(time.Second)
	if s := e.sim.VehicleState(vinBlue); s != "asleep" {
		t.Fatalf("state after SleepAfter = %s", s)
	}
	e.get(data).wantError(t, http.StatusRequestTimeout, "vehicle unavailable: vehicle is offline or asleep")

	// Offline cars ignore wake_up.
	if err := e.sim.SetVehicleState(vinBlue, "offline"); err != nil {
		t.Fatal(err)
	}
	e.post(wake, "").want(t, http.StatusOK)
	e.clock.Advance(time.Hour)
	if s := e.sim.VehicleState(vinBlue); s != "offline" {
		t.Fatalf("offline car woke: %s", s)
	}
	if err := e.sim.SetVehicleState(vinBlue, "dozing"); err == nil {
		t.Fatal("invalid state accepted")
	}
}

func TestWakeDelayOption(t *testing.T) {
	clock := clock.NewManual(t0)
	sim := New(Options{Clock: clock, WakeDelay: time.Minute, SleepAfter: time.Hour})
	if err := sim.Update(vinBlue, func(v *VehicleSnapshot) {}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetVehicleState(vinBlue, "online"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Minute)
	if s := sim.VehicleState(vinBlue); s != "online" {
		t.Fatalf("state = %s", s)
	}
	clock.Advance(time.Minute)
	if s := sim.VehicleState(vinBlue); s != "asleep" {
		t.Fatalf("state = %s", s)
	}
}

func TestChargingProgress(t *testing.T) {
	e := newEnv(t)
	before := e.sim.Snapshot(vinRed)
	e.clock.Advance(time.Hour)
	mid := e.sim.Snapshot(vinRed)
	if mid.BatteryLevel <= before.BatteryLevel+5 || mid.ChargingState != ChargingCharging || mid.State != "online" {
		t.Fatalf("after 1 h: %+v", mid)
	}
	if mid.ChargeEnergyAdded < 5 || mid.ChargeEnergyAdded > 8 {
		t.Errorf("charge_energy_added after 1 h at 7.4 kW = %v", mid.ChargeEnergyAdded)
	}
	// Charging is not idleness: still online well past SleepAfter.
	e.clock.Advance(90 * time.Minute)
	done := e.sim.Snapshot(vinRed)
	if done.BatteryLevel != 80 || done.ChargingState != ChargingComplete {
		t.Fatalf("after 2.5 h: level %v state %s", done.BatteryLevel, done.ChargingState)
	}
	// Completed at ≈ 2 h; asleep SleepAfter later.
	if done.State != "asleep" {
		t.Fatalf("state after completion + idle = %s", done.State)
	}
}

func TestUpdateAndCommands(t *testing.T) {
	e := newEnv(t)
	r := e.post("/api/1/vehicles/"+vinRed+"/command/door_unlock", "")
	if res := r.want(t, http.StatusOK); res["result"] != true || res["reason"] != "" {
		t.Fatalf("door_unlock = %s", r.raw)
	}
	if e.sim.Snapshot(vinRed).Locked {
		t.Fatal("still locked")
	}
	e.post("/api/1/vehicles/"+vinRed+"/command/door_lock", `{}`).want(t, http.StatusOK)
	if !e.sim.Snapshot(vinRed).Locked {
		t.Fatal("not locked")
	}
	e.post("/api/1/vehicles/"+vinRed+"/command/door_lock", `[1`).wantError(t, http.StatusBadRequest, "invalid_request")
	e.post("/api/1/vehicles/"+vinRed+"/command/warp_drive", "").wantError(t, http.StatusBadRequest, "invalid_command")
	e.post("/api/1/vehicles/"+vinBlue+"/command/door_lock", "").wantError(t, http.StatusForbidden, errProtocol)

	if err := e.sim.Update(vinBlue, func(v *VehicleSnapshot) {
		v.CommandSigning = "allowed"
		v.VIN = "changed"
	}); err != nil {
		t.Fatal(err)
	}
	e.post("/api/1/vehicles/"+vinBlue+"/command/door_lock", "").wantError(t, http.StatusRequestTimeout, errAsleep)
	if err := e.sim.Update(vinBlue, func(v *VehicleSnapshot) { v.State = "online"; v.Sentry = true }); err != nil {
		t.Fatal(err)
	}
	e.post("/api/1/vehicles/"+vinBlue+"/command/door_unlock", "").want(t, http.StatusOK)
	// Sentry keeps it awake.
	e.clock.Advance(3 * DefaultSleepAfter)
	if s := e.sim.Snapshot(vinBlue); s.State != "online" || s.VIN != vinBlue || s.Locked {
		t.Fatalf("blue = %+v", s)
	}
	if err := e.sim.Update("NOPE", func(*VehicleSnapshot) {}); err == nil {
		t.Fatal("Update of unknown VIN succeeded")
	}
	if got := e.sim.Snapshot("NOPE"); got.VIN != "" {
		t.Fatal("snapshot of unknown VIN")
	}
	if got := e.sim.Billable()[fleet.CategoryCommand]; got != 7 {
		t.Errorf("billable commands = %d, want 7", got)
	}
}

func TestOddInputDoesNotPanic(t *testing.T) {
	e := newEnv(t)
	paths := []string{
		"/api/1/vehicles//vehicle_data", "/api/1/vehicles/%00/vehicle_data", "/api/1/vehicles/" + strings.Repeat("9", 400),
		"/api/1/vehicles/" + vinRed + "/vehicle_data?endpoints=;;;", "/api/1/vehicles/" + vinRed + "/vehicle_data?endpoints=%ZZ",
		"/api/1/energy_sites/-0/live_status", "/api/1/energy_sites/1e9/site_info", "/api/1/energy_sites//live_status",
		"/api/1/vehicles?page=&per_page=", "/api/1/vehicles/" + vinRed + "/command/", "//api//1//products",
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT"} {
			if r := e.call(m, p, e.token, `{"x":`); r.status < 200 || r.status >= 500 {
				t.Errorf("%s %s → %d %s", m, p, r.status, r.raw)
			}
		}
	}
}
