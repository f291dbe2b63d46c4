package bridge

import (
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// teslaMateDoc is TeslaMate's MQTT topic list (website/docs/integrations/
// mqtt.md: topic, unit as the docs state it), plus the keys newer
// TeslaMate releases publish (charging_state, location, tpms_pressure_*).
// Each row gives the Fleet API input and the payload a TeslaMate consumer
// expects for it, in TeslaMate's units.
var teslaMateDoc = []struct {
	key, unit, want string
}{
	{"display_name", "", "Blue Thunder"},
	{"state", "", "charging"},
	{"healthy", "", "true"},
	{"version", "", "2019.32.12.2"},
	{"update_available", "", "true"},
	{"update_version", "", "2019.32.12.3"},
	{"model", "", "3"},
	{"trim_badging", "", "P100D"},
	{"exterior_color", "", "DeepBlue"},
	{"wheel_type", "", "Pinwheel18"},
	{"latitude", "°", "35.278131"},
	{"longitude", "°", "29.744801"},
	{"shift_state", "", "P"},
	{"power", "kW", "-9"},
	{"speed", "km/h", "0"},
	{"heading", "°", "340"},
	{"locked", "", "true"},
	{"sentry_mode", "", "false"},
	{"windows_open", "", "false"},
	{"doors_open", "", "true"},
	{"driver_front_door_open", "", "true"},
	{"driver_rear_door_open", "", "false"},
	{"passenger_front_door_open", "", "false"},
	{"passenger_rear_door_open", "", "false"},
	{"trunk_open", "", "false"},
	{"frunk_open", "", "true"},
	{"is_user_present", "", "false"},
	{"is_climate_on", "", "true"},
	{"inside_temp", "°C", "20.8"},
	{"outside_temp", "°C", "18.4"},
	{"is_preconditioning", "", "false"},
	{"odometer", "km", "1653.01"},
	{"est_battery_range_km", "km", "372.5"},
	{"rated_battery_range_km", "km", "401.63"},
	{"ideal_battery_range_km", "km", "335.79"},
	{"battery_level", "%", "88"},
	{"usable_battery_level", "%", "85"},
	{"plugged_in", "", "true"},
	{"charging_state", "", "Charging"},
	{"charge_energy_added", "kWh", "5.06"},
	{"charge_limit_soc", "%", "90"},
	{"charge_port_door_open", "", "true"},
	{"charger_actual_current", "A", "16"},
	{"charger_phases", "", "3"},
	{"charger_power", "kW", "11"},
	{"charger_voltage", "V", "230"},
	{"charge_current_request", "A", "16"},
	{"charge_current_request_max", "A", "32"},
	{"scheduled_charging_start_time", "", "2019-02-28T23:00:07Z"},
	{"time_to_full_charge", "h", "1.83"},
	{"tpms_pressure_fl", "bar", "2.9"},
	{"tpms_pressure_fr", "bar", "2.9"},
	{"tpms_pressure_rl", "bar", "2.95"},
	{"tpms_pressure_rr", "bar", "2.95"},
	{"location", "", `{"latitude":35.278131,"longitude":29.744801}`},
}

// teslaMateCar is a charging, parked car whose native values (miles, mph)
// convert to the docs' examples.
func teslaMateCar() *VehicleView {
	return &VehicleView{VIN: testVIN, DisplayName: "Blue Thunder", State: fleet.StateOnline, Data: fleet.VehicleData{
		Charge: &fleet.ChargeStateData{BatteryLevel: Ptr(88.0), UsableBatteryLevel: Ptr(85.0),
			EstBatteryRange: Ptr(372.5 / kmPerMile), BatteryRange: Ptr(401.63 / kmPerMile), IdealBatteryRange: Ptr(335.79 / kmPerMile),
			ChargingState: Ptr("Charging"), ChargeEnergyAdded: Ptr(5.06), ChargeLimitSOC: Ptr(90.0), ChargePortDoorOpen: Ptr(true),
			ChargerActualCurrent: Ptr(16.0), ChargerPhases: Ptr(3.0), ChargerPower: Ptr(11.0), ChargerVoltage: Ptr(230.0),
			ChargeCurrentRequest: Ptr(16.0), ChargeCurrentRequestMax: Ptr(32.0), TimeToFullCharge: Ptr(1.83),
			ScheduledChargingStart: Ptr(1551394807.0)},
		Climate: &fleet.ClimateStateData{IsClimateOn: Ptr(true), InsideTemp: Ptr(20.8), OutsideTemp: Ptr(18.4), IsPreconditioning: Ptr(false)},
		Drive:   &fleet.DriveStateData{Latitude: Ptr(35.278131), Longitude: Ptr(29.744801), Heading: Ptr(340.0), Speed: nil, Power: Ptr(-9.0), ShiftState: Ptr("P")},
		Vehicle: &fleet.VehicleStateData{CarVersion: Ptr("2019.32.12.2 abcdef"), Odometer: Ptr(1653.01 / kmPerMile), Locked: Ptr(true),
			SentryMode: Ptr(false), IsUserPresent: Ptr(false), DriverFront: Ptr(1.0), DriverRear: Ptr(0.0), PassengerFront: Ptr(0.0),
			PassengerRear: Ptr(0.0), FdWindow: Ptr(0.0), FpWindow: Ptr(0.0), RdWindow: Ptr(0.0), RpWindow: Ptr(0.0),
			FrontTrunk: Ptr(1.0), RearTrunk: Ptr(0.0), TpmsPressureFL: Ptr(2.9), TpmsPressureFR: Ptr(2.9), TpmsPressureRL: Ptr(2.95), TpmsPressureRR: Ptr(2.95),
			SoftwareUpdate: &fleet.SoftwareUpdate{Status: Ptr("available"), Version: Ptr("2019.32.12.3")}},
		Config: &fleet.VehicleConfigData{CarType: Ptr("model3"), TrimBadging: Ptr("P100D"), ExteriorColor: Ptr("DeepBlue"), WheelType: Ptr("Pinwheel18")},
	}}
}

func TestTeslaMateValuesMatchTheDocumentedTopics(t *testing.T) {
	v := teslaMateCar()
	got := teslaMateValues(v)
	got["healthy"] = "true" // added by PublishTeslaMate, from the device's last error
	for _, row := range teslaMateDoc {
		if row.key == "speed" {
			continue // parked: no speed, checked below
		}
		if got[row.key] != row.want {
			t.Errorf("%s (%s) = %q, want %q", row.key, row.unit, got[row.key], row.want)
		}
	}
	// Driving at 62.137 mph is 100 km/h, TeslaMate's unit.
	v.Data.Drive.Speed, v.Data.Drive.ShiftState = Ptr(62.137), Ptr("D")
	got = teslaMateValues(v)
	if got["speed"] != "100" || got["state"] != "driving" {
		t.Errorf("driving: speed=%q state=%q, want 100 and driving", got["speed"], got["state"])
	}
}

func TestTeslaMateStates(t *testing.T) {
	for _, tc := range []struct {
		fleetState string
		charging   string
		update     string
		want       string
	}{
		{fleet.StateAsleep, "Charging", "", "asleep"},
		{fleet.StateOffline, "", "", "offline"},
		{fleet.StateOnline, "Complete", "", "online"},
		{fleet.StateOnline, "Charging", "", "charging"},
		{fleet.StateOnline, "Stopped", "installing", "updating"},
	} {
		v := &VehicleView{State: tc.fleetState, Data: fleet.VehicleData{Charge: &fleet.ChargeStateData{ChargingState: Ptr(tc.charging)}}}
		if tc.update != "" {
			v.Data.Vehicle = &fleet.VehicleStateData{SoftwareUpdate: &fleet.SoftwareUpdate{Status: Ptr(tc.update)}}
		}
		if got := teslaMateStateOf(v); got != tc.want {
			t.Errorf("%s/%s/%s → %q, want %q", tc.fleetState, tc.charging, tc.update, got, tc.want)
		}
	}
}

func TestTeslaMateTopicsArePublishedRetainedPerCar(t *testing.T) {
	b, _, pub, _ := newTestBridge(t, nil)
	b.EnableTeslaMate("teslamate")
	pub.mu.Lock()
	level, ok := pub.retained["teslamate/cars/1/battery_level"]
	odo := pub.retained["teslamate/cars/1/odometer"]
	state := pub.retained["teslamate/cars/1/state"]
	var site []string
	for topic := range pub.retained {
		if strings.HasPrefix(topic, "teslamate/cars/2/") {
			site = append(site, topic)
		}
	}
	pub.mu.Unlock()
	if !ok || string(level) != "62" {
		t.Fatalf("teslamate/cars/1/battery_level = %q (present %v), want retained 62", level, ok)
	}
	if string(odo) != "1609.34" {
		t.Errorf("odometer = %q, want 1609.34 (km from 1000 mi)", odo)
	}
	if string(state) != "charging" {
		t.Errorf("state = %q, want charging", state)
	}
	if len(site) != 0 {
		t.Errorf("the energy site got TeslaMate car topics: %v", site)
	}
	// Unchanged values are not published again; force republishes them.
	before := pub.count("teslamate/cars/1/battery_level")
	b.PublishTeslaMate(testVIN, false)
	if n := pub.count("teslamate/cars/1/battery_level"); n != before {
		t.Errorf("an unchanged value was published again (%d → %d)", before, n)
	}
	b.PublishTeslaMate(testVIN, true)
	if n := pub.count("teslamate/cars/1/battery_level"); n != before+1 {
		t.Errorf("force did not republish (%d → %d)", before, n)
	}
}

func TestTeslaMateIsOffByDefault(t *testing.T) {
	b, _, pub, _ := newTestBridge(t, nil)
	b.PublishTeslaMate(testVIN, true)
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for topic := range pub.retained {
		if strings.HasPrefix(topic, "teslamate/") {
			t.Fatalf("published %s without teslamate_compat", topic)
		}
	}
}
