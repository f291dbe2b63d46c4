package entity

import (
	"slices"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// A read over Bluetooth fills only what the car sent: the fields it
// carries replace the view's, the Fleet API's others stay (car_version,
// vehicle_config), and the blocks a snapshot shares are not changed.
func TestMergeFieldsKeepsWhatBluetoothDoesNotSend(t *testing.T) {
	v := &VehicleView{}
	v.Merge(&fleet.VehicleData{
		Vehicle: &fleet.VehicleStateData{CarVersion: Ptr("2026.2.1"), Locked: Ptr(true), Odometer: Ptr(100.0)},
		Charge:  &fleet.ChargeStateData{BatteryLevel: Ptr(50.0), EnergyRemaining: Ptr(40.0)},
		Config:  &fleet.VehicleConfigData{CarType: Ptr("modely")},
	})
	snapshot := *v
	v.MergeFields(&fleet.VehicleData{
		Vehicle: &fleet.VehicleStateData{Locked: Ptr(false)},
		Charge:  &fleet.ChargeStateData{BatteryLevel: Ptr(51.0)},
	})
	d := v.Data
	if *d.Vehicle.Locked || *d.Charge.BatteryLevel != 51 {
		t.Errorf("merged: locked %v, battery %v; want the Bluetooth values", *d.Vehicle.Locked, *d.Charge.BatteryLevel)
	}
	if d.Vehicle.CarVersion == nil || *d.Vehicle.CarVersion != "2026.2.1" || *d.Vehicle.Odometer != 100 ||
		d.Charge.EnergyRemaining == nil || d.Config == nil {
		t.Errorf("merged: %+v / %+v / %+v; want the Fleet API's other values kept", d.Vehicle, d.Charge, d.Config)
	}
	if !*snapshot.Data.Vehicle.Locked || *snapshot.Data.Charge.BatteryLevel != 50 {
		t.Error("the merge changed a block a snapshot shares")
	}
}

// data_source names the way the newest data came; a stream datum wins a tie.
func TestSourceKeysNameTheNewestWay(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		v    VehicleView
		want any
	}{
		{"nothing yet", VehicleView{}, nil},
		{"Fleet API read", VehicleView{LastSeen: at, ReadVia: ViaFleet}, SourceFleet},
		{"Bluetooth read", VehicleView{LastSeen: at, ReadVia: ViaBLE}, SourceBLE},
		{"body controller after a Fleet read", VehicleView{LastSeen: at, ReadVia: ViaFleet, BLE: BLELink{BodyAt: at.Add(time.Minute)}}, SourceBLE},
		{"Fleet read after the body controller", VehicleView{LastSeen: at.Add(time.Minute), ReadVia: ViaFleet, BLE: BLELink{BodyAt: at}}, SourceFleet},
		{"stream, same second", VehicleView{LastSeen: at, ReadVia: ViaBLE, Stream: StreamState{At: at}}, SourceTelemetry},
	} {
		if got, _ := c.v.SourceKeys(); got != c.want {
			t.Errorf("%s: data_source %v, want %v", c.name, got, c.want)
		}
	}
}

// The Bluetooth rows come after the car table's, shared with it, and only
// in the table of a car with Bluetooth.
func TestVehicleBLETableAddsItsRows(t *testing.T) {
	plain, ble := VehicleTable(), VehicleBLETable()
	if len(ble) != len(plain)+len(bleEntities) {
		t.Fatalf("%d rows, want %d", len(ble), len(plain)+len(bleEntities))
	}
	for i, r := range plain {
		if ble[i] != r {
			t.Fatalf("row %d (%s) is not shared with the car table", i, r.Key)
		}
	}
	for _, key := range []string{"ble_connected", "ble_rssi", "data_source"} {
		if slices.ContainsFunc(plain, func(r *Spec) bool { return r.Key == key }) {
			t.Errorf("%s is offered to cars without Bluetooth", key)
		}
		if !slices.ContainsFunc(ble, func(r *Spec) bool { return r.Key == key }) {
			t.Errorf("%s is missing", key)
		}
	}
	v := &VehicleView{BLE: BLELink{Connected: true, RSSI: Ptr(-61)}}
	if got := ble[len(plain)+1].Value(v); got != -61 {
		t.Errorf("ble_rssi = %v, want -61", got)
	}
	if got := ble[len(plain)+1].Value(&VehicleView{}); got != nil {
		t.Errorf("ble_rssi before a beacon = %v, want null", got)
	}
}

// A parked car leaves shift_state, speed and power out of its drive state
// over Bluetooth: TakeMotion clears the last drive's values (else the
// policy would see it driving for ever) and keeps the location, without
// changing a block a snapshot shares.
func TestTakeMotionClearsTheLastDrive(t *testing.T) {
	v := &VehicleView{}
	v.Merge(&fleet.VehicleData{Drive: &fleet.DriveStateData{ShiftState: Ptr("D"), Speed: Ptr(40.0), Power: Ptr(12.0),
		Latitude: Ptr(52.5)}})
	snapshot := *v
	parked := &fleet.DriveStateData{Latitude: Ptr(52.6)}
	v.MergeFields(&fleet.VehicleData{Drive: parked})
	v.TakeMotion(parked)
	d := v.Data.Drive
	if d.ShiftState != nil || d.Speed != nil || d.Power != nil || d.Latitude == nil || *d.Latitude != 52.6 {
		t.Errorf("parked over Bluetooth: %+v; want no gear, speed or power, the new latitude", d)
	}
	if mode := Mode(&v.Data); mode == ModeDriving {
		t.Errorf("mode %q for a parked car", mode)
	}
	if *snapshot.Data.Drive.ShiftState != "D" {
		t.Error("TakeMotion changed a block a snapshot shares")
	}
	v.TakeMotion(&fleet.DriveStateData{ShiftState: Ptr("D"), Speed: Ptr(10.0)})
	if *v.Data.Drive.ShiftState != "D" || *v.Data.Drive.Speed != 10 {
		t.Errorf("driving over Bluetooth: %+v", v.Data.Drive)
	}
}
