package fleetsim

import (
	"fmt"
	"sort"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// ScriptEvent is one scripted change of a car, At after the script's start:
// the car's user drives, plugs in, opens the phone app. An event wakes an
// asleep car (Apply may set State to put it to sleep or offline instead)
// and counts as the car's own activity for its idle timer.
type ScriptEvent struct {
	At    time.Duration
	Label string
	Apply func(*VehicleSnapshot)
}

// SleepStats tell how a car slept, for benchmarks of polling policies.
type SleepStats struct {
	// Wakes counts asleep-to-online transitions; APIWakes those that a
	// wake_up request caused, BLEWakes those a wake over Bluetooth caused
	// (the rest are the script's, i.e. the user's).
	Wakes, APIWakes, BLEWakes int
	// Sleeps counts online-to-asleep transitions.
	Sleeps int
	// ExtraAwake is how long the car stayed awake, free to sleep, beyond
	// SleepAfter after its last own activity: the cost of reads that kept
	// it awake.
	ExtraAwake time.Duration
	// MaxToSleep is the longest time from the car's last own activity to
	// falling asleep (an awake spell still running counts up to now).
	MaxToSleep time.Duration
	// Awake is the total time online.
	Awake time.Duration
}

// RunScript plays events on a car over the simulator's clock, relative to
// start. Events apply lazily, in order, as the clock passes them (the
// simulator still starts no goroutines); each first brings the car's
// physics up to its time. A new script replaces the previous one.
func (s *Sim) RunScript(vin string, start time.Time, events []ScriptEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.clock.Now())
	v := s.vehicleByTag(vin)
	if v == nil {
		return fmt.Errorf("fleetsim: unknown vehicle %q", vin)
	}
	evs := append([]ScriptEvent(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At < evs[j].At })
	v.script, v.scriptAt = evs, start
	return nil
}

// SleepStats returns how the car slept so far, counting the current awake
// spell as if it ended now.
func (s *Sim) SleepStats(vin string) SleepStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.advanceLocked(now)
	v := s.vehicleByTag(vin)
	if v == nil {
		return SleepStats{}
	}
	st := v.stats
	if v.online() {
		st.Awake += now.Sub(v.onlineAt)
		if v.canSleep() {
			// Still awake: the spell so far counts as if it ended now.
			st.MaxToSleep = max(st.MaxToSleep, now.Sub(v.userActive))
		}
	}
	return st
}

// runScript applies the events due by now. Callers hold Sim.mu.
func (v *vehicleSim) runScript(now time.Time, sleepAfter time.Duration) {
	for len(v.script) > 0 {
		ev := v.script[0]
		at := v.scriptAt.Add(ev.At)
		if at.After(now) {
			return
		}
		v.script = v.script[1:]
		v.advance(at, sleepAfter)
		prev := v.snap.State
		snap := v.snap
		snap.State = fleet.StateOnline
		if ev.Apply != nil {
			ev.Apply(&snap)
		}
		snap.VIN = v.snap.VIN
		v.snap = snap
		if v.snap.State == fleet.StateOnline && prev != fleet.StateOnline {
			v.stats.Wakes++
			v.onlineAt = at
			v.wakeAt = time.Time{}
		}
		if v.snap.State != fleet.StateOnline && prev == fleet.StateOnline {
			v.stats.Awake += at.Sub(v.onlineAt)
		}
		v.touch(at)
	}
}

// fellAsleep records the car falling asleep at `at`. Callers hold Sim.mu.
func (v *vehicleSim) fellAsleep(at time.Time) {
	v.stats.Sleeps++
	v.stats.Awake += at.Sub(v.onlineAt)
	v.stats.MaxToSleep = max(v.stats.MaxToSleep, at.Sub(v.userActive))
}

// countExtraAwake adds the part of [from, to] in which the car, online and
// free to sleep, would already have been asleep had nobody read it.
// Script events split the intervals, so the car's state is constant within.
func (v *vehicleSim) countExtraAwake(from, to time.Time, sleepAfter time.Duration) {
	if !v.canSleep() && v.online() {
		return
	}
	if due := v.userActive.Add(sleepAfter); due.After(from) {
		from = due
	}
	if to.After(from) {
		v.stats.ExtraAwake += to.Sub(from)
	}
}

// ScriptDrive is a drive: the driver gets in a minute before (the car
// wakes, someone is present), drives for d at mph towards heading, parks
// and leaves a minute after.
func ScriptDrive(at, d time.Duration, mph, heading float64) []ScriptEvent {
	return []ScriptEvent{
		{At: at - time.Minute, Label: "driver gets in", Apply: func(s *VehicleSnapshot) { s.UserPresent, s.Locked = true, false }},
		{At: at, Label: "drive", Apply: func(s *VehicleSnapshot) {
			s.ShiftState, s.Speed, s.Heading = "D", mph, heading
		}},
		{At: at + d, Label: "park", Apply: func(s *VehicleSnapshot) { s.ShiftState, s.Speed = "P", 0 }},
		{At: at + d + time.Minute, Label: "driver leaves", Apply: func(s *VehicleSnapshot) {
			s.UserPresent, s.Locked, s.ShiftState = false, true, ""
		}},
	}
}

// ScriptCharge is an AC charge: plugged in at `at`, charging with amps on
// phases at 230 V for d, then unplugged by the user.
func ScriptCharge(at, d time.Duration, amps float64, phases int) []ScriptEvent {
	return []ScriptEvent{
		{At: at, Label: "plug in", Apply: func(s *VehicleSnapshot) {
			s.ChargingState, s.ChargeAmps, s.ChargerPhases, s.ChargerVoltage = ChargingCharging, amps, phases, 230
			s.ChargePortOpen, s.ChargeEnergyAdded = true, 0
		}},
		{At: at + d, Label: "charge stops", Apply: func(s *VehicleSnapshot) { s.ChargingState = ChargingStopped }},
		{At: at + d + 5*time.Minute, Label: "unplug", Apply: func(s *VehicleSnapshot) {
			s.ChargingState, s.ChargePortOpen = ChargingDisconnected, false
		}},
	}
}

// ScriptPhoneApp is the phone app opened for d: the car wakes and stays
// awake while the app is connected.
func ScriptPhoneApp(at, d time.Duration) []ScriptEvent {
	return []ScriptEvent{
		{At: at, Label: "app opened", Apply: func(s *VehicleSnapshot) { s.AppOpen = true }},
		{At: at + d, Label: "app closed", Apply: func(s *VehicleSnapshot) { s.AppOpen = false }},
	}
}

// ReferenceDay is the benchmark's day for one car, from midnight: asleep and
// parked at first; two 30-minute drives (07:30 and 17:30), 2 hours of
// 11 kW AC charging from 18:10, and four short phone-app wakes (3 minutes
// at 10:00, 12:30, 14:00 and 21:30). Commands are not scripted: the
// benchmark sends them through the bridge under test.
func ReferenceDay() []ScriptEvent {
	evs := []ScriptEvent{{At: 0, Label: "night", Apply: func(s *VehicleSnapshot) {
		*s = VehicleSnapshot{VIN: s.VIN, DisplayName: s.DisplayName, CommandSigning: s.CommandSigning,
			State: fleet.StateAsleep, BatteryLevel: 71, ChargeLimit: 90, ChargingState: ChargingDisconnected,
			ChargeAmps: 16, ChargeCurrentMax: 16, InsideTemp: 12, OutsideTemp: 8, DriverTemp: 21, PassengerTemp: 21,
			Locked: true, Latitude: s.Latitude, Longitude: s.Longitude, Heading: s.Heading, Odometer: s.Odometer,
			CarVersion: s.CarVersion, TpmsFL: s.TpmsFL, TpmsFR: s.TpmsFR, TpmsRL: s.TpmsRL, TpmsRR: s.TpmsRR,
			PackKWh: s.PackKWh, RatedRangeMiles: s.RatedRangeMiles}
	}}}
	h := func(hh, mm int) time.Duration { return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute }
	evs = append(evs, ScriptDrive(h(7, 30), 30*time.Minute, 40, 90)...)
	evs = append(evs, ScriptPhoneApp(h(10, 0), 3*time.Minute)...)
	evs = append(evs, ScriptPhoneApp(h(12, 30), 3*time.Minute)...)
	evs = append(evs, ScriptPhoneApp(h(14, 0), 3*time.Minute)...)
	evs = append(evs, ScriptDrive(h(17, 30), 30*time.Minute, 40, 270)...)
	evs = append(evs, ScriptCharge(h(18, 10), 2*time.Hour, 16, 3)...)
	evs = append(evs, ScriptPhoneApp(h(21, 30), 3*time.Minute)...)
	return evs
}
