package bridge

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// PolicyOptions tune the per-car polling state machine. The intervals
// themselves are the cron specs of Schedule.
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

// carPolicy is one car's polling state, driven by what the bridge sees:
// the connectivity check and vehicle_data contents. It never calls time
// functions: every method takes now, from Options.Now.
type carPolicy struct {
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

// connectivity applies the car's state from GET /api/1/vehicles. It returns
// true when the car has just come online (woken by its user or a command):
// the caller reads it at once.
func (p *carPolicy) connectivity(fleetState string, now time.Time, o PolicyOptions) bool {
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
	p.tick(now, o)
	return woke
}

// asleep records a 408 from vehicle_data: the car fell asleep since the check.
func (p *carPolicy) asleep() {
	p.state, p.suspendUntil = policyAsleep, time.Time{}
}

// observe applies a successful vehicle_data read. Any change the user would
// notice (or a car that is busy) restarts the quiet period.
func (p *carPolicy) observe(v *VehicleView, now time.Time, o PolicyOptions) {
	p.lastRead = now
	class := policyIdle
	switch mode(v) {
	case modeDriving:
		class = policyDriving
	case modeCharging:
		class = policyCharging
	}
	p.blockers = policyBlockers(v)
	p.occupied = v.Data.Vehicle != nil && v.Data.Vehicle.IsUserPresent != nil && *v.Data.Vehicle.IsUserPresent
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
	p.tick(now, o)
}

// tick runs the quiet and suspend timers against now: a quiet parked car is
// suspended; at the end of the suspension a car that is still online is
// polled again and a new quiet period starts.
func (p *carPolicy) tick(now time.Time, o PolicyOptions) {
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

// job is the scheduler job that reads this car in its state, "" for none.
func (p *carPolicy) job() string {
	switch {
	case p.state == policyDriving, p.state == policyIdle && p.occupied:
		return jobDriving
	case p.state == policyCharging:
		return jobCharging
	case p.state == policyIdle:
		return jobIdle
	}
	return ""
}

// Job names of the vehicle_data schedules.
const (
	jobDriving  = "vehicle_data_driving"
	jobCharging = "vehicle_data_charging"
	jobIdle     = "vehicle_data_idle"
)

// policyBlockers lists what keeps a parked car awake whatever the bridge
// does (TeslaMate's list): sentry, climate or preconditioning, an open
// door, trunk or frunk, a software update being downloaded or installed.
func policyBlockers(v *VehicleView) []string {
	var out []string
	if vs := v.Data.Vehicle; vs != nil {
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
	if c := v.Data.Climate; c != nil {
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
func policyFingerprint(v *VehicleView) string {
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
	if vs := v.Data.Vehicle; vs != nil {
		b(vs.Locked)
		b(vs.SentryMode)
		b(vs.IsUserPresent)
		for _, o := range []*float64{vs.DriverFront, vs.DriverRear, vs.PassengerFront, vs.PassengerRear, vs.FrontTrunk, vs.RearTrunk} {
			f(o, 1)
		}
		f(vs.Odometer, 0.1)
	}
	if c := v.Data.Charge; c != nil {
		s(c.ChargingState)
		f(c.ChargeLimitSOC, 1)
		f(c.ChargeAmps, 1)
		b(c.ChargePortDoorOpen)
		s(c.ConnChargeCable)
	}
	if c := v.Data.Climate; c != nil {
		b(c.IsClimateOn)
		f(c.DriverTempSetting, 0.5)
	}
	if d := v.Data.Drive; d != nil {
		s(d.ShiftState)
	}
	return sb.String()
}

// ---- rate limits and faults, per device and endpoint ----

// Fault handling constants: a 429 waits its Retry-After; from the second
// consecutive 5xx or timeout on, a read waits faultBase×2^(n-2) plus up to
// 25 % jitter (capped at faultMax); after faultTrip failures the device's
// circuit opens for faultOpen. One device's troubles never delay another's.
const (
	faultBase        = 30 * time.Second
	faultMax         = 15 * time.Minute
	faultTrip        = 5
	faultOpen        = 15 * time.Minute
	defaultRetryWait = time.Minute
	// exceededPause is the polling pause after EXCEEDED_LIMIT (TeslaMate's).
	exceededPause = 15 * time.Minute
)

// faultGate is the retry state of one device's endpoint.
type faultGate struct {
	retryAt  time.Time
	failures int
	open     bool
}

// gateAllows reports whether key (device uid + endpoint) may be read now.
func (b *Bridge) gateAllows(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.gates[key]
	return g == nil || !now.Before(g.retryAt)
}

// gateDone records the outcome of a read of key, and pauses all polling on
// EXCEEDED_LIMIT. Errors that say nothing about the service (asleep car,
// missing scope) leave the gate alone.
func (b *Bridge) gateDone(key, device string, err error, now time.Time) {
	if errors.Is(err, fleet.ErrExceededLimit) {
		b.pausePolling(now, err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.gates[key]
	if g == nil {
		g = &faultGate{}
		b.gates[key] = g
	}
	switch {
	case err == nil || errors.Is(err, fleet.ErrAsleep):
		if g.open {
			b.log.Info().Str("device", device).Str("read", key).Msg("reads work again; circuit closed")
		}
		*g = faultGate{}
	case errors.Is(err, fleet.ErrRateLimited):
		wait := fleet.RetryAfterOf(err)
		if wait <= 0 {
			wait = defaultRetryWait
		}
		g.retryAt = now.Add(wait)
		b.log.Warn().Str("device", device).Str("read", key).Dur("retry_after", wait).Msg("rate limited by Tesla; waiting")
	case errors.Is(err, fleet.ErrServer), errors.Is(err, fleet.ErrTimeout), errors.Is(err, fleet.ErrNetwork),
		errors.Is(err, fleet.ErrMalformed), fleet.StatusOf(err) >= 500:
		g.failures++
		if g.failures < 2 {
			return // one failure: the next tick is the retry
		}
		wait := min(faultBase<<min(g.failures-2, 10), faultMax)
		wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		if g.failures >= faultTrip {
			wait = faultOpen
			if !g.open {
				b.log.Warn().Str("device", device).Str("read", key).Int("failures", g.failures).
					Dur("for", wait).Msg("repeated failures; circuit open for this device")
			}
			g.open = true
		}
		g.retryAt = now.Add(wait)
	}
}

// pausePolling stops every poll for exceededPause and says so: in the log,
// on bridge/event and in bridge/info.
func (b *Bridge) pausePolling(now time.Time, err error) {
	if b.opts.Budget == nil {
		b.mu.Lock()
		fresh := !now.Before(b.pausedUntil)
		if fresh {
			b.pausedUntil = now.Add(exceededPause)
		}
		b.mu.Unlock()
		if !fresh {
			return
		}
	} else if !b.opts.Budget.Pause(now, exceededPause, err.Error()) {
		return
	}
	until := now.Add(exceededPause)
	b.log.Error().Err(err).Time("until", until).Msg("Tesla says the app's billing limit is exceeded; polling paused")
	ev := BudgetEvent{Type: EventPollingPaused, Message: "Tesla answered EXCEEDED_LIMIT: polling paused for 15 minutes; raise the billing limit on developer.tesla.com",
		Until: until.UTC().Format(time.RFC3339), At: now.UTC().Format(time.RFC3339), Stretch: b.opts.Budget.Stretch()}
	if st := b.opts.Budget.Status(); st != nil {
		ev.SpendUSD, ev.ProjectedUSD, ev.BudgetUSD = st.SpendUSD, st.ProjectedUSD, st.BudgetUSD
	}
	b.publishBudgetEvent(ev)
	b.publishInfoOnly()
}

// pollingPaused reports whether an EXCEEDED_LIMIT pause is running.
func (b *Bridge) pollingPaused(now time.Time) bool {
	if b.opts.Budget != nil {
		return !b.opts.Budget.PausedUntil(now).IsZero()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.Before(b.pausedUntil)
}
