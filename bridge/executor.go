package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Commander sends a vehicle command. The default sends it as REST through
// the FleetAPI; the signed path (vehicle-command) implements the same
// interface, so the entity table never knows which path a car takes.
type Commander interface {
	VehicleCommand(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error)
}

// restCommander is the default Commander.
type restCommander struct{ api FleetAPI }

func (r restCommander) VehicleCommand(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error) {
	return r.api.Command(ctx, vin, cmd.Name, cmd.Params)
}

// queueSize bounds the commands waiting per device; more are refused with
// rate_limited rather than piling up behind a sleeping car.
const queueSize = 16

// enqueue hands a job to the device's worker, starting it on first use.
func (b *Bridge) enqueue(d *device, j job) {
	b.mu.Lock()
	if d.queue == nil {
		d.queue = make(chan job, queueSize)
		d.stopWorker = make(chan struct{})
		b.workers.Add(1)
		go b.worker(d, d.queue, d.stopWorker)
	}
	q := d.queue
	b.mu.Unlock()
	select {
	case q <- j:
		b.log.Debug().Str("device", d.name).Str("key", j.key).Interface("transaction", j.transaction).Msg("command queued")
	default:
		b.publishResult(d, Result{Transaction: j.transaction, Key: j.key, Command: j.cmd.Name, Status: StatusError,
			Error: &ResultError{Code: CodeRateLimited, Message: fmt.Sprintf("%d commands are already waiting for %s", queueSize, d.name),
				Remedy: "wait for the pending commands' results before sending more"}})
	}
}

// commandGrace is how long a command in flight at shutdown may still take:
// long enough for a REST command to answer, short enough that SIGTERM ends
// the process within 5 s. A command cut off by it gets status unknown.
const commandGrace = 2 * time.Second

// worker runs one device's commands, one at a time, until the bridge stops
// or the device leaves the account (stop).
func (b *Bridge) worker(d *device, q chan job, stop <-chan struct{}) {
	defer b.workers.Done()
	b.mu.Lock()
	ctx := b.ctx
	b.mu.Unlock()
	// A command runs on its own context that outlives ctx by commandGrace,
	// so shutdown lets it finish instead of abandoning it half-sent.
	cmdCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			b.wait(cmdCtx, commandGrace)
		case <-cmdCtx.Done():
		}
		cancel()
	}()
	refuse := func(msg string) {
		for {
			select {
			case j := <-q:
				b.publishResult(d, Result{Transaction: j.transaction, Key: j.key, Command: j.cmd.Name, Status: StatusError,
					Error: &ResultError{Code: CodeFleetError, Message: msg, Remedy: "send it again when the bridge is back"}})
			default:
				return
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			refuse("the bridge is shutting down; the command was not sent")
			return
		case <-stop:
			refuse("the device left the account; the command was not sent")
			return
		default:
		}
		select {
		case j := <-q:
			b.guard("command "+d.name, func() { b.execute(cmdCtx, d, j) })
		case <-ctx.Done():
		case <-stop:
		}
	}
}

// execute runs one job and publishes exactly one result.
func (b *Bridge) execute(ctx context.Context, d *device, j job) {
	res := Result{Transaction: j.transaction, Key: j.key, Command: j.cmd.Name}
	if re := b.admit(d, j); re != nil {
		res.Status, res.Error = StatusError, re
		b.publishResult(d, res)
		b.commandDone(d, res)
		return
	}
	var err error
	var cr *fleet.CommandResult
	switch {
	case d.kind == kindVehicle:
		cr, err = b.runVehicle(ctx, d, j, &res)
	case d.site != nil:
		err = b.fleet.EnergyCommand(ctx, d.site.ID, j.cmd.Name, j.cmd.Params)
		if err == nil {
			cr = &fleet.CommandResult{Result: true}
		}
	}
	b.classify(d, j, cr, err, &res)
	b.publishResult(d, res)
	if res.Status != StatusError || res.Error == nil || res.Error.Code == CodeCarRefused {
		b.freshRead(ctx, d, j)
	}
	b.commandDone(d, res)
}

// commandDone tells OnCommandDone that d is ready for its next command.
func (b *Bridge) commandDone(d *device, res Result) {
	if h := b.opts.OnCommandDone; h != nil {
		h(d.name, res)
	}
}

// admit applies the safety rails before any Fleet call: allow/deny, the
// per-device rate limit and the token's scopes.
func (b *Bridge) admit(d *device, j job) *ResultError {
	c := b.opts.Commands
	if j.group != "" && (slices.Contains(c.Deny, j.group) || len(c.Allow) > 0 && !slices.Contains(c.Allow, j.group)) {
		return &ResultError{Code: CodeCommandDenied, Message: fmt.Sprintf("commands of group %q are not allowed by this bridge's configuration", j.group),
			Remedy: "change [commands] allow/deny in the config if you want this command to run"}
	}
	now := b.now()
	b.mu.Lock()
	recent := d.cmdTimes[:0]
	for _, t := range d.cmdTimes {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	d.cmdTimes = recent
	limited := len(recent) >= c.RateLimitPerMinute
	var retry time.Duration
	if limited {
		retry = time.Minute - now.Sub(recent[0])
	} else {
		d.cmdTimes = append(d.cmdTimes, now)
	}
	b.mu.Unlock()
	if limited {
		return &ResultError{Code: CodeRateLimited, RetryAfter: int(retry.Seconds()) + 1,
			Message: fmt.Sprintf("more than %d commands a minute for %s", c.RateLimitPerMinute, d.name),
			Remedy:  "slow down the automation that sends these commands, or raise [commands] rate_limit_per_minute"}
	}
	if granted := b.granted(); granted != nil && len(j.scopes) > 0 {
		ok := false
		for _, s := range j.scopes {
			ok = ok || granted[s]
		}
		if !ok {
			url := fleet.ConsentURL(b.opts.ClientID, "")
			return &ResultError{Code: CodeMissingScope, URL: url,
				Message: fmt.Sprintf("the Tesla login lacks the %s scope this command needs", j.scopes[0]),
				Remedy:  fmt.Sprintf("grant %s on Tesla's consent page (%s), then run 'tesla2mqtt login' again", j.scopes[0], url)}
		}
	}
	return nil
}

// runVehicle wakes the car when needed and sends the command.
func (b *Bridge) runVehicle(ctx context.Context, d *device, j job, res *Result) (*fleet.CommandResult, error) {
	b.mu.Lock()
	online := d.vehicle.State == fleet.StateOnline
	vin := d.uid
	b.mu.Unlock()
	if j.cmd.Name == "wake_up" {
		if online {
			return &fleet.CommandResult{Result: true, Reason: "already online"}, nil
		}
		if err := b.wake(ctx, d); err != nil {
			return nil, err
		}
		res.Woke = true
		return &fleet.CommandResult{Result: true}, nil
	}
	if !online {
		if err := b.wake(ctx, d); err != nil {
			return nil, err
		}
		res.Woke = true
	}
	cr, err := b.commander().VehicleCommand(ctx, vin, j.cmd)
	if errors.Is(err, fleet.ErrAsleep) && !res.Woke {
		// The car fell asleep since the last check: wake it and try once more.
		if werr := b.wake(ctx, d); werr != nil {
			return nil, werr
		}
		res.Woke = true
		cr, err = b.commander().VehicleCommand(ctx, vin, j.cmd)
	}
	return cr, err
}

func (b *Bridge) commander() Commander {
	if b.opts.Commander != nil {
		return b.opts.Commander
	}
	return restCommander{b.fleet}
}

// errWakeTimeout marks a car that did not come online in time.
var errWakeTimeout = errors.New("the car did not come online in time")

// wake sends wake_up and then checks the cheap vehicle state until the car
// is online, bounded by WakeTimeout.
func (b *Bridge) wake(ctx context.Context, d *device) error {
	vin := d.uid
	if _, err := b.fleet.WakeUp(ctx, vin); err != nil {
		return err
	}
	deadline := b.now().Add(b.opts.Commands.WakeTimeout)
	for {
		if err := b.opts.Clock.Sleep(ctx, b.opts.Commands.WakePollInterval); err != nil {
			return err
		}
		v, err := b.fleet.Vehicle(ctx, vin)
		if err == nil && v.State == fleet.StateOnline {
			b.mu.Lock()
			d.vehicle.State = fleet.StateOnline
			b.mu.Unlock()
			b.publishState(d, false)
			return nil
		}
		if err != nil && !errors.Is(err, fleet.ErrAsleep) && !errors.Is(err, fleet.ErrServer) && !errors.Is(err, fleet.ErrTimeout) {
			return err
		}
		if !b.now().Before(deadline) {
			if err == nil && v.State == fleet.StateOffline {
				return fmt.Errorf("%w: the car is offline (no connection)", errWakeTimeout)
			}
			return errWakeTimeout
		}
	}
}

// alreadyHolds lists refusals that mean the user's wish is already true.
var alreadyHolds = map[string]string{
	"already_set":    "the car already had this setting",
	"not_charging":   "the car was not charging",
	"is_charging":    "the car was already charging",
	"complete":       "charging is already complete",
	"requested":      "the car had already been asked to do this",
	"already closed": "already closed",
	"already open":   "already open",
}

// classify turns the outcome of a command into the result's status and error.
func (b *Bridge) classify(d *device, j job, cr *fleet.CommandResult, err error, res *Result) {
	switch {
	case err == nil && cr != nil && cr.Result:
		res.Status = StatusOK
		if cr.Reason != "" {
			res.Note = cr.Reason
		}
		return
	case err == nil && cr != nil:
		reason := strings.TrimPrefix(cr.Reason, "car could not execute command: ")
		if note, ok := alreadyHolds[reason]; ok {
			res.Status, res.Note = StatusOK, note+" ("+reason+")"
			return
		}
		res.Status = StatusError
		res.Error = &ResultError{Code: CodeCarRefused, Message: reason, Remedy: refusalRemedy(reason)}
		return
	case err == nil:
		res.Status = StatusUnknown
		res.Error = &ResultError{Code: CodeFleetError, Message: "the Fleet API gave no result for the command"}
		return
	}
	res.Status = StatusError
	res.Error = errorResult(b, d, err)
	if res.Error.Code == CodeTimeout || errors.Is(err, context.Canceled) || errors.Is(err, fleet.ErrMayHaveSucceeded) || (errors.Is(err, fleet.ErrServer) && (fleet.StatusOf(err) == 503 || fleet.StatusOf(err) == 504)) ||
		errors.Is(err, fleet.ErrNetwork) {
		// The request may have reached the car: say so, and never retry it blindly.
		res.Status = StatusUnknown
	}
}

// errorResult maps a Fleet error to a result error with its remedy.
func errorResult(b *Bridge, d *device, err error) *ResultError {
	msg := err.Error()
	switch {
	case errors.Is(err, errWakeTimeout):
		if strings.Contains(msg, "offline") {
			return &ResultError{Code: CodeVehicleOffline, Message: msg, Remedy: "the car has no connection; try again when it is back in coverage"}
		}
		return &ResultError{Code: CodeVehicleAsleep, Message: fmt.Sprintf("the car did not wake up within %s", b.opts.Commands.WakeTimeout),
			Remedy: "try again; a car in deep sleep or with poor coverage can take longer"}
	case errors.Is(err, fleet.ErrAsleep):
		return &ResultError{Code: CodeVehicleAsleep, Message: msg, Remedy: "the car is asleep or offline; send the command again to wake it"}
	case errors.Is(err, fleet.ErrMissingScopes):
		url := fleet.ConsentURL(b.opts.ClientID, "")
		return &ResultError{Code: CodeMissingScope, Message: msg, URL: url, Remedy: "grant the missing permission on Tesla's consent page, then run 'tesla2mqtt login' again"}
	case errors.Is(err, fleet.ErrUnauthorized), errors.Is(err, fleet.ErrLoginRequired), errors.Is(err, fleet.ErrNoToken):
		return &ResultError{Code: CodeLoginRequired, Message: msg, Remedy: "run 'tesla2mqtt login -c <config>'"}
	case errors.Is(err, fleet.ErrRateLimited):
		return &ResultError{Code: CodeRateLimited, Message: msg, RetryAfter: int(fleet.RetryAfterOf(err).Seconds()),
			Remedy: "Tesla rate-limited this car; wait before sending more commands"}
	case errors.Is(err, fleet.ErrExceededLimit):
		return &ResultError{Code: CodeBudgetExceeded, Message: msg, Remedy: "the developer account's billing limit is reached; raise it on developer.tesla.com or wait for the next month"}
	case errors.Is(err, fleet.ErrNotRegistered):
		return &ResultError{Code: CodeRegionNotRegistd, Message: msg, Remedy: "run 'tesla2mqtt register -c <config>' to register the app in this region"}
	case errors.Is(err, fleet.ErrKeyNotPaired):
		return b.keyNotPairedResult(d)
	case errors.Is(err, fleet.ErrMayHaveSucceeded):
		return &ResultError{Code: CodeTimeout, Message: msg, Remedy: "check the car's state before sending the command again; it may have run"}
	case errors.Is(err, fleet.ErrSigningRequired), errors.Is(err, fleet.ErrProtocolRequired):
		r := &ResultError{Code: CodeSigningRequired, Message: msg,
			Remedy: "this car only accepts signed commands: run 'tesla2mqtt keygen', host the public key, run 'tesla2mqtt register', set tesla.private_key_file and pair the key"}
		if b.opts.Domain != "" {
			r.URL = fleet.PairingURL(b.opts.Domain, d.uid)
		}
		return r
	case errors.Is(err, fleet.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &ResultError{Code: CodeTimeout, Message: msg, Remedy: "check the car's state before sending the command again; it may have run"}
	}
	return &ResultError{Code: CodeFleetError, Message: msg, Remedy: "see the bridge log; try again later"}
}

// refusalRemedy explains the car's most common refusals.
func refusalRemedy(reason string) string {
	switch reason {
	case "disconnected":
		return "plug the charge cable in first"
	case "no_power":
		return "the charger delivers no power; check the charger or the circuit"
	case "cabin comfort remote settings not enabled":
		return "turn on the car's climate first"
	case "user_present", "vehicle is not in park":
		return "the car refuses this while someone drives it"
	}
	return "the car refused the command; check its state"
}

// freshRead reads the block the command affected, once, so the state topic
// shows the outcome.
func (b *Bridge) freshRead(ctx context.Context, d *device, j job) {
	switch d.kind {
	case kindVehicle:
		b.mu.Lock()
		online := d.vehicle.State == fleet.StateOnline
		b.mu.Unlock()
		if online {
			b.pollVehicle(ctx, d)
		}
	case kindSite:
		b.pollSite(ctx, d, true)
	}
}

// publishResult publishes one command result and remembers it for the
// last_command diagnostic.
func (b *Bridge) publishResult(d *device, r Result) {
	r.At = b.now().UTC().Format(time.RFC3339)
	if r.Status == "" {
		r.Status = StatusError
	}
	payload, err := json.Marshal(r)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode result")
		return
	}
	b.mu.Lock()
	d.lastResult = &r
	topic := b.topics(d).State + "/result"
	b.mu.Unlock()
	ev := b.log.Info()
	if r.Status != StatusOK {
		ev = b.log.Warn()
	}
	code := ""
	if r.Error != nil {
		code = r.Error.Code
	}
	ev.Str("device", d.name).Str("key", r.Key).Str("command", r.Command).Str("status", r.Status).Str("code", code).Msg("command result")
	b.publish(topic, payload, false)
	b.observeResult(r)
	b.publishState(d, false)
}
