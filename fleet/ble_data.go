package fleet

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	"github.com/teslamotors/vehicle-command/pkg/vehicle"
)

// The one mapping from the car's own state (carserver.VehicleData, what
// GetState answers over BLE) into VehicleData, the view the bridge's entity
// table reads. Units follow vehicle_data: miles, mph, °C, bar, kW. What the
// car does not send over BLE stays nil (vehicle_config, gui_settings,
// car_version, vehicle_name, energy_remaining), so a reader that merges
// BLE reads into a view keeps those from the last Fleet API read.

// bleField reads one protobuf field into a block of type T. name (and, for
// markers, the keys of choices) are checked by TestBLEFieldNamesExist.
type bleField[T any] struct {
	name    string
	choices map[string]string // marker or enum value name → Fleet API string
	read    func(m protoreflect.Message, dst *T)
}

func fNum[T any](name string, f func(*T) **float64) bleField[T] {
	return bleField[T]{name: name, read: func(m protoreflect.Message, d *T) {
		if v := pbNumber(m, name); v != nil {
			*f(d) = v
		}
	}}
}

func fBool[T any](name string, f func(*T) **bool) bleField[T] {
	return bleField[T]{name: name, read: func(m protoreflect.Message, d *T) {
		if v := pbBool(m, name); v != nil {
			*f(d) = v
		}
	}}
}

func fString[T any](name string, f func(*T) **string) bleField[T] {
	return bleField[T]{name: name, read: func(m protoreflect.Message, d *T) {
		if v := pbString(m, name); v != nil {
			*f(d) = v
		}
	}}
}

// fOpen reads the car's open/closed flag as vehicle_data's 0 (closed) or 1.
func fOpen[T any](name string, f func(*T) **float64) bleField[T] {
	return bleField[T]{name: name, read: func(m protoreflect.Message, d *T) {
		if v := pbBool(m, name); v != nil {
			n := 0.0
			if *v {
				n = 1
			}
			*f(d) = &n
		}
	}}
}

// fChoice reads a Void-marker message (ChargingState{Charging{}}) as the
// Fleet API's string for it; markers not in choices stay absent.
func fChoice[T any](name string, choices map[string]string, f func(*T) **string) bleField[T] {
	return bleField[T]{name: name, choices: choices, read: func(m protoreflect.Message, d *T) {
		if s, ok := choices[pbChoice(m, name)]; ok {
			*f(d) = &s
		}
	}}
}

// fEnum reads an enum field as the Fleet API's string for its value.
func fEnum[T any](name string, choices map[string]string, f func(*T) **string) bleField[T] {
	return bleField[T]{name: name, choices: choices, read: func(m protoreflect.Message, d *T) {
		if s, ok := choices[pbEnumName(m, name)]; ok {
			*f(d) = &s
		}
	}}
}

// fLevel reads a marker or enum as a number (defrost 0/1/2, wheel heat 0/1/3).
func fLevel[T any](name string, enum bool, levels map[string]float64, f func(*T) **float64) bleField[T] {
	names := make(map[string]string, len(levels))
	for k := range levels {
		names[k] = k
	}
	return bleField[T]{name: name, choices: names, read: func(m protoreflect.Message, d *T) {
		key := pbChoice(m, name)
		if enum {
			key = pbEnumName(m, name)
		}
		if n, ok := levels[key]; ok {
			*f(d) = &n
		}
	}}
}

func fMillis[T any](name string, f func(*T) **float64) bleField[T] {
	return bleField[T]{name: name, read: func(m protoreflect.Message, d *T) {
		if v := pbMillis(m, name); v != nil {
			*f(d) = v
		}
	}}
}

// readBlock applies fields to a new T; nil when the car sent no such block.
func readBlock[T any](m protoreflect.Message, fields []bleField[T]) *T {
	if m == nil {
		return nil
	}
	d := new(T)
	for _, f := range fields {
		f.read(m, d)
	}
	return d
}

// VehicleDataFromBLE maps what the car answered to GetState (one or more
// categories, merged) into the vehicle_data view: the same blocks and
// fields as the Fleet API, in its units, so the entity table reads either
// the same way. State is "online": infotainment only answers awake.
func VehicleDataFromBLE(vin string, pb *carserver.VehicleData) *VehicleData {
	out := &VehicleData{VIN: vin, State: StateOnline}
	if pb == nil {
		return out
	}
	m := pb.ProtoReflect()
	out.Charge = readBlock(pbMessage(m, "charge_state"), bleChargeFields)
	if cs := pbMessage(m, "charge_state"); cs != nil && out.Charge.ChargeRate == nil {
		out.Charge.ChargeRate = pbNumber(cs, "charge_rate_mph")
	}
	if out.Charge != nil && out.Charge.MinutesToFullCharge != nil {
		h := *out.Charge.MinutesToFullCharge / 60
		out.Charge.TimeToFullCharge = &h
	}
	out.Climate = readBlock(pbMessage(m, "climate_state"), bleClimateFields)
	out.Drive = readBlock(pbMessage(m, "drive_state"), bleDriveFields)
	if loc := readBlock(pbMessage(m, "location_state"), bleLocationFields); loc != nil {
		out.Drive = mergeLocation(out.Drive, loc)
	}
	out.Vehicle = bleVehicleState(m)
	return out
}

// mergeLocation puts location_state's fields into drive_state, where
// vehicle_data carries them (endpoints=location_data).
func mergeLocation(drive, loc *DriveStateData) *DriveStateData {
	if drive == nil {
		return loc
	}
	drive.Latitude, drive.Longitude, drive.Heading = loc.Latitude, loc.Longitude, loc.Heading
	drive.GPSAsOf, drive.NativeType = loc.GPSAsOf, loc.NativeType
	drive.NativeLatitude, drive.NativeLongitude = loc.NativeLatitude, loc.NativeLongitude
	return drive
}

// bleVehicleState gathers vehicle_state from the four categories that carry
// its fields over BLE: closures, tyre pressures, software update, and the
// odometer, which the car sends in drive_state.
func bleVehicleState(m protoreflect.Message) *VehicleStateData {
	var vs *VehicleStateData
	block := func() *VehicleStateData {
		if vs == nil {
			vs = &VehicleStateData{}
		}
		return vs
	}
	if c := readBlock(pbMessage(m, "closures_state"), bleClosureFields); c != nil {
		*block() = *c
	}
	if t := pbMessage(m, "tire_pressure_state"); t != nil {
		for _, f := range bleTireFields {
			f.read(t, block())
		}
	}
	if su := readBlock(pbMessage(m, "software_update_state"), bleSoftwareFields); su != nil {
		block().SoftwareUpdate = su
	}
	if ds := pbMessage(m, "drive_state"); ds != nil {
		if hundredths := pbNumber(ds, "odometer_in_hundredths_of_a_mile"); hundredths != nil {
			miles := *hundredths / 100
			block().Odometer = &miles
		}
	}
	return vs
}

// mergeBLEStates merges the answers to several GetState calls (each fills
// one category) into one message.
func mergeBLEStates(parts []*carserver.VehicleData) *carserver.VehicleData {
	out := &carserver.VehicleData{}
	for _, p := range parts {
		if p != nil {
			proto.Merge(out, p)
		}
	}
	return out
}

// bleCategories are the GetState calls that fill each vehicle_data block.
// vehicle_config and gui_settings have none: the car does not send them
// over BLE (BLEUnavailable).
var bleCategories = map[Endpoint][]vehicle.StateCategory{
	ChargeState:  {vehicle.StateCategoryCharge},
	ClimateState: {vehicle.StateCategoryClimate},
	DriveState:   {vehicle.StateCategoryDrive},
	LocationData: {vehicle.StateCategoryLocation},
	VehicleState: {vehicle.StateCategoryClosures, vehicle.StateCategoryTirePressure,
		vehicle.StateCategorySoftwareUpdate, vehicle.StateCategoryDrive},
	ClosuresState: {vehicle.StateCategoryClosures},
}

// BLEUnavailable returns the endpoints of the list that the car does not
// answer over BLE, so the caller can read them (rarely: they hardly change)
// from the Fleet API instead.
func BLEUnavailable(endpoints []Endpoint) []Endpoint {
	var out []Endpoint
	for _, e := range endpoints {
		if _, ok := bleCategories[e]; !ok {
			out = append(out, e)
		}
	}
	return out
}

// bleStateCategories returns the GetState calls for endpoints, each once,
// in a stable order.
func bleStateCategories(endpoints []Endpoint) []vehicle.StateCategory {
	seen := map[vehicle.StateCategory]bool{}
	var out []vehicle.StateCategory
	for _, e := range endpoints {
		for _, c := range bleCategories[e] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}
