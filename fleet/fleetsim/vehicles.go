package fleetsim

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Charging states the simulator uses (FLEET_API §3.1).
const (
	ChargingCharging     = "Charging"
	ChargingStopped      = "Stopped"
	ChargingComplete     = "Complete"
	ChargingDisconnected = "Disconnected"
)

// VehicleSnapshot holds the main simulated values of a car, in the Fleet
// API's own units (miles, mph, °C, bar, kW). Tests read it with
// Sim.Snapshot and change it with Sim.Update; command handlers change the
// same struct inside the simulator.
type VehicleSnapshot struct {
	VIN            string
	DisplayName    string
	State          string // fleet.StateOnline, StateAsleep or StateOffline
	CommandSigning string // "allowed" or "required" (REST commands get 403 when required)

	BatteryLevel      float64 // % (fractional; the API reports it rounded down)
	ChargeLimit       float64 // charge_limit_soc, %
	ChargingState     string  // ChargingCharging, ChargingStopped, ChargingComplete, ChargingDisconnected
	ChargeAmps        float64 // requested current, A (charge_amps, charge_current_request)
	ChargeCurrentMax  float64 // charge_current_request_max, A
	ChargerVoltage    float64 // V while charging
	ChargerPhases     int     // while charging
	ChargeEnergyAdded float64 // kWh added this session
	ChargePortOpen    bool

	InsideTemp    float64 // °C
	OutsideTemp   float64 // °C
	DriverTemp    float64 // driver_temp_setting, °C
	PassengerTemp float64 // passenger_temp_setting, °C
	ClimateOn     bool
	// DefrostMax is max defrost (set_preconditioning_max); it implies climate on.
	DefrostMax bool
	// SeatHeaters holds the level 0–3 per seat_position (0 FL, 1 FR, 2 RL,
	// 4 RC, 5 RR; the other positions are not reported).
	SeatHeaters         [9]int
	SteeringWheelHeater bool
	ClimateKeeper       string // "off", "keep", "dog", "camp"
	CabinOverheat       string // "Off", "On", "FanOnly"

	Locked bool
	Sentry bool
	// UserPresent is someone in the car (is_user_present); AppOpen is the
	// phone app connected. Both keep the car awake.
	UserPresent   bool
	AppOpen       bool
	FrunkOpen     bool
	TrunkOpen     bool
	WindowsVented bool
	// Flashes and Honks count flash_lights and honk_horn, so tests can see them.
	Flashes int
	Honks   int

	Latitude   float64
	Longitude  float64
	Heading    float64
	ShiftState string  // "" when parked (the API sends null), else "P", "D", "R", "N"
	Speed      float64 // mph while driving

	Odometer   float64 // miles
	CarVersion string  // e.g. "2026.32.5 abcdef123456"
	TpmsFL     float64 // bar
	TpmsFR     float64
	TpmsRL     float64
	TpmsRR     float64

	PackKWh         float64 // usable pack energy, drives the charging physics
	RatedRangeMiles float64 // rated range at 100 %
}

// PluggedIn reports whether a charge cable is connected.
func (v VehicleSnapshot) PluggedIn() bool {
	return v.ChargingState != ChargingDisconnected && v.ChargingState != ""
}

// ChargerPowerKW is the AC power the car draws while charging, else 0.
func (v VehicleSnapshot) ChargerPowerKW() float64 {
	if v.ChargingState != ChargingCharging {
		return 0
	}
	phases := v.ChargerPhases
	if phases < 1 {
		phases = 1
	}
	return v.ChargeAmps * v.ChargerVoltage * float64(phases) / 1000
}

// chargeEfficiency is the share of AC power that ends up in the pack.
const chargeEfficiency = 0.92

// vehicleConfig is the static part of a car (vehicle_config, gui_settings).
type vehicleConfig struct {
	carType, trim, color, wheels, chargePort, cable string
	plg                                             bool
	distanceUnits, tempUnits                        string
}

// vehicleSim is one simulated car. All fields are guarded by Sim.mu.
// Command handlers change snap and call touch.
type vehicleSim struct {
	id, vehicleID int64
	cfg           vehicleConfig
	snap          VehicleSnapshot

	updated    time.Time // the simulation has been advanced up to here
	lastActive time.Time // last vehicle_data, command or wake (idle timer)
	wakeAt     time.Time // non-zero while a wake_up is pending
	wakeByBLE  bool      // the pending wake came over Bluetooth (free)
	// userActive is the last activity other than a read (driving,
	// charging, a command, a wake, the script): the car would sleep
	// SleepAfter later if nobody read it.
	userActive time.Time
	stats      SleepStats
	onlineAt   time.Time
	script     []ScriptEvent // pending scripted events, in time order
	scriptAt   time.Time     // the script's start
}

func defaultVehicles(now time.Time) []*vehicleSim {
	red := &vehicleSim{
		id: 3744000000000001, vehicleID: 1492000001,
		cfg: vehicleConfig{carType: "model3", trim: "74d", color: "RedMultiCoat", wheels: "Pinwheel18CapKit",
			chargePort: "CCS", cable: "IEC", distanceUnits: "km/hr", tempUnits: "C"},
		snap: VehicleSnapshot{
			VIN: "5YJ3E1EA7PF000001", DisplayName: "Red Three", State: fleet.StateOnline, CommandSigning: "allowed",
			BatteryLevel: 62, ChargeLimit: 80, ChargingState: ChargingCharging,
			ChargeAmps: 32, ChargeCurrentMax: 32, ChargerVoltage: 230, ChargerPhases: 1, ChargePortOpen: true,
			InsideTemp: 21.5, OutsideTemp: 8, DriverTemp: 21, PassengerTemp: 21,
			Locked: true, Latitude: 52.390612, Longitude: 13.064523, Heading: 185,
			Odometer: 12345.6, CarVersion: "2026.32.5 abcdef123456",
			TpmsFL: 2.9, TpmsFR: 2.875, TpmsRL: 2.9, TpmsRR: 2.925,
			PackKWh: 75, RatedRangeMiles: 333,
		},
	}
	blue := &vehicleSim{
		id: 3744000000000002, vehicleID: 1492000002,
		cfg: vehicleConfig{carType: "modely", trim: "74d", color: "DeepBlue", wheels: "Apollo19",
			chargePort: "CCS", cable: "<invalid>", plg: true, distanceUnits: "km/hr", tempUnits: "C"},
		snap: VehicleSnapshot{
			VIN: "7SAYGDEE1PF000002", DisplayName: "Blue Y", State: fleet.StateAsleep, CommandSigning: "required",
			BatteryLevel: 74, ChargeLimit: 90, ChargingState: ChargingDisconnected,
			ChargeAmps: 16, ChargeCurrentMax: 16,
			InsideTemp: 11, OutsideTemp: 8, DriverTemp: 20.5, PassengerTemp: 20.5,
			Locked: true, Latitude: 52.520008, Longitude: 13.404954, Heading: 90,
			Odometer: 8901.2, CarVersion: "2026.32.5 abcdef123456",
			TpmsFL: 2.85, TpmsFR: 2.85, TpmsRL: 2.875, TpmsRR: 2.875,
			PackKWh: 75, RatedRangeMiles: 310,
		},
	}
	for _, v := range []*vehicleSim{red, blue} {
		v.updated, v.lastActive, v.userActive, v.onlineAt = now, now, now, now
	}
	return []*vehicleSim{red, blue}
}

// vehicleByTag finds a car by VIN or numeric id. Callers hold Sim.mu.
func (s *Sim) vehicleByTag(tag string) *vehicleSim {
	id, err := strconv.ParseInt(tag, 10, 64)
	for _, v := range s.vehicles {
		if v.snap.VIN == tag || (err == nil && v.id == id) {
			return v
		}
	}
	return nil
}

// online reports whether the car answers live requests (vehicle_data, commands).
func (v *vehicleSim) online() bool { return v.snap.State == fleet.StateOnline }

// touch records activity that keeps an online car awake (commands,
// driving, the script).
func (v *vehicleSim) touch(now time.Time) {
	v.touchRead(now)
	if now.After(v.userActive) {
		v.userActive = now
	}
}

// touchRead records a vehicle_data read: it keeps an online car awake too,
// but is not the car's own activity (SleepStats tells them apart).
func (v *vehicleSim) touchRead(now time.Time) {
	if now.After(v.lastActive) {
		v.lastActive = now
	}
}

// wake handles wake_up: an asleep car comes online WakeDelay later; an
// online car just counts it as activity; an offline car stays offline.
func (v *vehicleSim) wake(now time.Time, delay time.Duration) {
	switch v.snap.State {
	case fleet.StateAsleep:
		if v.wakeAt.IsZero() {
			v.wakeAt = now.Add(delay)
			v.wakeByBLE = false
		}
	case fleet.StateOnline:
		v.touch(now)
	}
}

func (v *vehicleSim) setState(state string, now time.Time) error {
	switch state {
	case fleet.StateOnline, fleet.StateAsleep, fleet.StateOffline:
	default:
		return fmt.Errorf("fleetsim: invalid vehicle state %q", state)
	}
	if state == fleet.StateOnline && v.snap.State != fleet.StateOnline {
		v.onlineAt = now
	}
	v.snap.State = state
	v.wakeAt = time.Time{}
	if state == fleet.StateOnline {
		v.lastActive, v.userActive = now, now
	}
	return nil
}

// canSleep: only a parked, idle car falls asleep.
func (v *vehicleSim) canSleep() bool {
	s := &v.snap
	return s.ChargingState != ChargingCharging && (s.ShiftState == "" || s.ShiftState == "P") &&
		!s.ClimateOn && !s.Sentry && (s.ClimateKeeper == "" || s.ClimateKeeper == "off") &&
		!s.UserPresent && !s.AppOpen && !s.FrunkOpen && !s.TrunkOpen
}

// advance runs the car's physics from v.updated to now: a pending wake
// completes, charging adds energy until the limit, driving adds miles, and
// an idle car falls asleep SleepAfter after its last activity.
func (v *vehicleSim) advance(now time.Time, sleepAfter time.Duration) {
	if !now.After(v.updated) {
		return
	}
	from := v.updated
	if !v.wakeAt.IsZero() && !now.Before(v.wakeAt) {
		v.snap.State = fleet.StateOnline
		v.lastActive, v.userActive, v.onlineAt = v.wakeAt, v.wakeAt, v.wakeAt
		v.stats.Wakes++
		if v.wakeByBLE {
			v.stats.BLEWakes++
		} else {
			v.stats.APIWakes++
		}
		v.wakeByBLE = false
		if v.wakeAt.After(from) {
			from = v.wakeAt
		}
		v.wakeAt = time.Time{}
	}
	if v.online() {
		v.charge(from, now)
		v.drive(from, now)
		v.climate(from, now)
		end := now
		if v.canSleep() && !now.Before(v.lastActive.Add(sleepAfter)) {
			end = v.lastActive.Add(sleepAfter)
			v.snap.State = fleet.StateAsleep
			v.fellAsleep(end)
		}
		v.countExtraAwake(from, end, sleepAfter)
	}
	v.updated = now
}

func (v *vehicleSim) charge(from, now time.Time) {
	s := &v.snap
	if s.ChargingState != ChargingCharging || s.PackKWh <= 0 {
		return
	}
	if s.BatteryLevel >= s.ChargeLimit {
		s.ChargingState = ChargingComplete
		v.touch(from)
		return
	}
	ratePerHour := s.ChargerPowerKW() * chargeEfficiency / s.PackKWh * 100 // %/h
	if ratePerHour <= 0 {
		return
	}
	hours := now.Sub(from).Hours()
	need := s.ChargeLimit - s.BatteryLevel
	if ratePerHour*hours >= need {
		s.BatteryLevel = s.ChargeLimit
		s.ChargeEnergyAdded += need / 100 * s.PackKWh
		s.ChargingState = ChargingComplete
		v.touch(from.Add(time.Duration(need / ratePerHour * float64(time.Hour))))
		return
	}
	s.BatteryLevel += ratePerHour * hours
	s.ChargeEnergyAdded += ratePerHour * hours / 100 * s.PackKWh
}

// drive moves the odometer and drains the battery (250 Wh/mi) while driving.
func (v *vehicleSim) drive(from, now time.Time) {
	s := &v.snap
	if s.ShiftState != "D" && s.ShiftState != "R" || s.Speed <= 0 {
		return
	}
	miles := s.Speed * now.Sub(from).Hours()
	s.Odometer += miles
	rad := s.Heading * math.Pi / 180
	s.Latitude += miles * math.Cos(rad) / 69
	s.Longitude += miles * math.Sin(rad) / (69 * math.Max(0.1, math.Cos(s.Latitude*math.Pi/180)))
	if s.PackKWh > 0 {
		s.BatteryLevel = math.Max(0, s.BatteryLevel-miles*0.25/s.PackKWh*100)
	}
	v.touch(now)
}

// climate moves the cabin towards the setting (climate on, τ 10 min) or
// leaves it alone (parked cars are assumed sheltered).
func (v *vehicleSim) climate(from, now time.Time) {
	s := &v.snap
	if !s.ClimateOn {
		return
	}
	k := 1 - math.Exp(-now.Sub(from).Minutes()/10)
	s.InsideTemp += (s.DriverTemp - s.InsideTemp) * k
}

// ---- JSON shapes ----

func (v *vehicleSim) idS() string { return strconv.FormatInt(v.id, 10) }
