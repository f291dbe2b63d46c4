package fleet_test

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// allEndpoints is what the bridge asks for when every entity is enabled.
var allEndpoints = []fleet.Endpoint{fleet.ChargeState, fleet.ClimateState, fleet.DriveState,
	fleet.LocationData, fleet.VehicleState, fleet.VehicleConfig, fleet.GUISettings}

// bleMissing are the view's fields the car does not send over BLE; a read
// over BLE leaves them nil and the bridge keeps the Fleet API's values.
var bleMissing = map[string]bool{
	"Charge.EnergyRemaining": true, "Vehicle.CarVersion": true, "Vehicle.VehicleName": true,
}

// bleTolerance: fields the car sends at lower resolution over BLE.
var bleTolerance = map[string]float64{
	// float32 degrees: about a metre.
	"Drive.Latitude": 1e-5, "Drive.Longitude": 1e-5, "Drive.NativeLatitude": 1e-5, "Drive.NativeLongitude": 1e-5,
	// Whole minutes over BLE, hours to two decimals in vehicle_data.
	"Charge.TimeToFullCharge": 0.01 + 1.0/60,
}

// TestBLEReadMatchesVehicleData reads the same simulated car at the same
// instant over the Fleet API (vehicle_data) and over BLE (GetState) and
// compares every field of the view that both carry: the entity table then
// publishes the same values whichever way the data came.
func TestBLEReadMatchesVehicleData(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	err := e.sim.Update(vinSigned, func(v *fleetsim.VehicleSnapshot) {
		// A busy car, so most fields carry something other than zero.
		v.ChargingState, v.ChargeAmps, v.ChargerVoltage, v.ChargerPhases = fleetsim.ChargingCharging, 16, 230, 3
		v.ChargePortOpen, v.BatteryLevel, v.ChargeLimit = true, 61.4, 85
		v.ClimateOn, v.DefrostMax, v.DriverTemp, v.SeatHeaters[0], v.SeatHeaters[4] = true, true, 22.5, 3, 1
		v.ClimateKeeper, v.CabinOverheat, v.SteeringWheelHeater = "dog", "FanOnly", true
		v.Sentry, v.TrunkOpen, v.WindowsVented, v.Locked = true, true, true, false
		v.ShiftState, v.Speed = "D", 0
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.SetBLERange(vinSigned, true, -50)
	car := e.bleCar(t, vinSigned, e.key, nil)

	overBLE, err := car.VehicleData(ctx, allEndpoints)
	if err != nil {
		t.Fatal(err)
	}
	overHTTP, err := e.client.VehicleData(ctx, vinSigned, allEndpoints)
	if err != nil {
		t.Fatal(err)
	}
	if overBLE.Config != nil || overBLE.GUI != nil {
		t.Error("vehicle_config or gui_settings came over BLE, which the car does not send")
	}
	if got := fleet.BLEUnavailable(allEndpoints); !reflect.DeepEqual(got, []fleet.Endpoint{fleet.VehicleConfig, fleet.GUISettings}) {
		t.Errorf("BLEUnavailable = %v, want vehicle_config and gui_settings", got)
	}
	if overBLE.State != fleet.StateOnline || overBLE.VIN != vinSigned {
		t.Errorf("state %q vin %q", overBLE.State, overBLE.VIN)
	}
	compared := 0
	for _, block := range []string{"Charge", "Climate", "Drive", "Vehicle"} {
		compared += compareBlock(t, block, reflect.ValueOf(overHTTP).Elem().FieldByName(block),
			reflect.ValueOf(overBLE).Elem().FieldByName(block))
	}
	// A mapping that lost whole blocks would compare little and pass.
	if compared < 80 {
		t.Errorf("compared %d fields, want at least 80", compared)
	}
	if e.sim.BLECounts()["get_state"] == 0 {
		t.Error("no GetState went over BLE")
	}
}

// compareBlock compares the pointer fields of two blocks and returns how
// many were present on both sides.
func compareBlock(t *testing.T, name string, http, ble reflect.Value) int {
	t.Helper()
	if http.IsNil() || ble.IsNil() {
		t.Errorf("%s: present over HTTP %v, over BLE %v", name, !http.IsNil(), !ble.IsNil())
		return 0
	}
	http, ble = http.Elem(), ble.Elem()
	n := 0
	for i := range http.NumField() {
		field := name + "." + http.Type().Field(i).Name
		h, b := http.Field(i), ble.Field(i)
		if h.Kind() != reflect.Pointer {
			continue
		}
		switch {
		case h.IsNil() && b.IsNil():
		case b.IsNil():
			if !bleMissing[field] {
				t.Errorf("%s = %v over HTTP but absent over BLE", field, h.Elem())
			}
		case h.IsNil():
			t.Errorf("%s = %v over BLE but absent over HTTP", field, b.Elem())
		case h.Elem().Kind() == reflect.Struct:
			n += compareBlock(t, field, h, b)
		case h.Elem().Kind() == reflect.Float64:
			n++
			if d := math.Abs(h.Elem().Float() - b.Elem().Float()); d > bleTolerance[field] {
				t.Errorf("%s = %v over HTTP, %v over BLE", field, h.Elem(), b.Elem())
			}
		default:
			n++
			if !reflect.DeepEqual(h.Interface(), b.Interface()) {
				t.Errorf("%s = %v over HTTP, %v over BLE", field, h.Elem(), b.Elem())
			}
		}
	}
	return n
}
