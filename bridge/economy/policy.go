package economy

import (
	"fmt"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// PolicyOptions tune the per-car polling state machine. The intervals
// themselves are the cron specs of the bridge's Schedule.
type PolicyOptions struct {
	// QuietAfter: a parked car with nothing changing for this long is
	// suspended (default 15 min).
	QuietAfter time.Duration
	// SuspendFor: how long a suspended car gets no vehicle_data, so it can
	// fall asleep (default 21 min, TeslaMate's value: longer than a car's
	// own idle-to-sleep time).
	SuspendFor time.Duration
}

// Policy states of a car. Only online cars in driving, charging or idle
// (not suspended) are read; asleep and offline cars get the connectivity
// check alone, which never wakes them.
const (
	policyAsleep    = "asleep"
	policyOffline   = "offline"
	policyDriving   = "driving"
	policyCharging  = "charging"
	policyIdle      = "idle"
	policySuspended = "suspended"
)

// Car is one car's polling state, driven by what the bridge sees:
// the connectivity check and vehicle_data contents. It never calls time
// functions: every method takes now, from the bridge's clock.
type Car struct {
	state string
	// blockers keep a parked car awake anyway (sentry, climate, an open
	// door…): it is polled on the idle spec and never suspended, because
	// suspending would not let it sleep.
	blockers []string
	// occupied: someone is in the parked car; a drive is about to start, so
	// it is read on the driving spec.
	occupied     bool
	quietSince   time.Time
	suspendUntil time.Time
	lastRead     time.Time
	// wokeRead is when the car was read for coming online: a schedule
	// firing in the same moment skips it rather than read it twice.
	wokeRead    time.Time
	fingerprint string
}

// wokeReadWindow is how close a scheduled read may follow a wake read and
// still be skipped.
const wokeReadWindow = 10 * time.Second

// Connectivity applies the car's state from GET /api/1/vehicles. It returns
// true when the car has just come online (woken by its user or a command):
// the caller reads it at once.
func (p *Car) Connectivity(fleetState string, now time.Time, o PolicyOptions) bool {
	switch fleetState {
	case fleet.StateOnline:
	case fleet.StateOffline:
		p.state, p.suspendUntil = policyOffline, time.Time{}
		return false
	default:
		p.state, p.suspendUntil = policyAsleep, time.Time{}
		return false
	}
	woke := p.state == "" || p.state == policyAsleep || p.state == policyOffline
	if woke {
		p.state, p.quietSince, p.suspendUntil = policyIdle, now, time.Time{}
	}
	p.Tick(now, o)
	return woke
}

// Asleep records a 408 from vehicle_data: the car fell asleep since the check.
func (p *Car) Asleep() {
	p.state, p.suspendUntil = policyAsleep, time.Time{}
}

// Observe applies a successful vehicle_data read. Any change the user would
// notice (or a car that is busy) restarts the quiet period.
func (p *Car) Observe(v *fleet.VehicleData, now time.Time, o PolicyOptions) {
	p.lastRead = now
	class := policyIdle
	switch entity.Mode(v) {
	case entity.ModeDriving:
		class = policyDriving
	case entity.ModeCharging:
		class = policyCharging
	}
	p.blockers = policyBlockers(v)
	p.occupied = v.Vehicle != nil && v.Vehicle.IsUserPresent != nil && *v.Vehicle.IsUserPresent
	fp := policyFingerprint(v)
	prev := p.state
	if prev == policySuspended {
		prev = policyIdle
	}
	if class != policyIdle || len(p.blockers) > 0 || fp != p.fingerprint || prev != class {
		p.quietSince, p.suspendUntil = now, time.Time{}
	}
	p.fingerprint = fp
	p.state = class
	p.Tick(now, o)
}

// Tick runs the quiet and suspend timers against now: a quiet parked car is
// suspended; at the end of the suspension a car that is still online is
// polled again and a new quiet period starts.
func (p *Car) Tick(now time.Time, o PolicyOptions) {
	switch p.state {
	case policySuspended:
		if !now.Before(p.suspendUntil) {
			p.state, p.suspendUntil, p.quietSince = policyIdle, time.Time{}, now
		}
	case policyIdle:
		if len(p.blockers) == 0 && !p.occupied && !p.quietSince.IsZero() && now.Sub(p.quietSince) >= o.QuietAfter {
			p.state, p.suspendUntil = policySuspended, now.Add(o.SuspendFor)
		}
	}
}

// Job is the scheduler job that reads this car in its state, "" for none.
func (p *Car) Job() string {
	switch {
	case p.state == policyDriving, p.state == policyIdle && p.occupied:
		return JobDriving
	case p.state == policyCharging:
		return JobCharging
	case p.state == policyIdle:
		return JobIdle
	}
	return ""
}

// Job names of the vehicle_data schedules.
const (
	JobDriving  = "vehicle_data_driving"
	JobCharging = "vehicle_data_charging"
	JobIdle     = "vehicle_data_idle"
)

// State is the policy state (asleep, offline, driving, charging, idle,
// suspended), "" before the car was first seen: bridge/info shows it.
func (p *Car) State() string { return p.state }

// LastRead is the time of the last successful vehicle_data read.
func (p *Car) LastRead() time.Time { return p.lastRead }

// WokeRead records that the car was read for coming online at now.
func (p *Car) WokeRead(now time.Time) { p.wokeRead = now }

// Due reports whether the scheduler job reads this car now: it is the job
// of the car's state, and no read for coming online just happened.
func (p *Car) Due(job string, now time.Time) bool {
	return p.Job() == job && (p.wokeRead.IsZero() || now.Sub(p.wokeRead) >= wokeReadWindow)
}

// policyBlockers lists what keeps a parked car awake whatever the bridge
// does (TeslaMate's list): sentry, climate or preconditioning, an open
// door, trunk or frunk, a software update being downloaded or installed.
func policyBlockers(v *fleet.VehicleData) []string {
	var out []string
	if vs := v.Vehicle; vs != nil {
		if vs.SentryMode != nil && *vs.SentryMode {
			out = append(out, "sentry")
		}
		for _, o := range []*float64{vs.DriverFront, vs.DriverRear, vs.PassengerFront, vs.PassengerRear, vs.FrontTrunk, vs.RearTrunk} {
			if o != nil && *o != 0 {
				out = append(out, "open")
				break
			}
		}
		if su := vs.SoftwareUpdate; su != nil && su.Status != nil {
			switch *su.Status {
			case "downloading", "downloading_wifi_wait", "installing":
				out = append(out, "software_update")
			}
		}
	}
	if c := v.Climate; c != nil {
		if c.IsClimateOn != nil && *c.IsClimateOn || c.IsPreconditioning != nil && *c.IsPreconditioning {
			out = append(out, "climate")
		}
	}
	return out
}

// policyFingerprint sums up what a parked car's user changes (lock, charge
// settings, cable, climate, sentry, doors, gear, odometer): a command's
// effect or someone at the car restarts the quiet period; slow drifts
// (temperatures) do not.
func policyFingerprint(v *fleet.VehicleData) string {
	var sb strings.Builder
	b := func(x *bool) { fmt.Fprintf(&sb, "%v|", x != nil && *x) }
	f := func(x *float64, prec float64) {
		if x == nil {
			sb.WriteString("-|")
			return
		}
		fmt.Fprintf(&sb, "%d|", int64(*x/prec))
	}
	s := func(x *string) {
		if x != nil {
			sb.WriteString(*x)
		}
		sb.WriteString("|")
	}
	if vs := v.Vehicle; vs != nil {
		b(vs.Locked)
		b(vs.SentryMode)
		b(vs.IsUserPresent)
		for _, o := range []*float64{vs.DriverFront, vs.DriverRear, vs.PassengerFront, vs.PassengerRear, vs.FrontTrunk, vs.RearTrunk} {
			f(o, 1)
		}
		f(vs.Odometer, 0.1)
	}
	if c := v.Charge; c != nil {
		s(c.ChargingState)
		f(c.ChargeLimitSOC, 1)
		f(c.ChargeAmps, 1)
		b(c.ChargePortDoorOpen)
		s(c.ConnChargeCable)
	}
	if c := v.Climate; c != nil {
		b(c.IsClimateOn)
		f(c.DriverTempSetting, 0.5)
	}
	if d := v.Drive; d != nil {
		s(d.ShiftState)
	}
	return sb.String()
}
