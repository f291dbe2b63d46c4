package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

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
func classify(o Options, t Target, cr *fleet.CommandResult, err error, res *Result) {
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
	res.Error = errorResult(o, t, err)
	if fleet.MayHaveRun(err) {
		// The request may have reached the car: say so, and never retry it blindly.
		res.Status = StatusUnknown
	}
}

// errorResult maps a Fleet error to a result error with its remedy.
func errorResult(o Options, t Target, err error) *ResultError {
	msg := err.Error()
	switch {
	case errors.Is(err, ErrExpired):
		return &ResultError{Code: CodeExpired, Message: msg + "; it was not sent",
			Remedy: "send it again if it is still wanted; [commands] max_age sets how long a command may wait (a sleeping car's wake counts)"}
	case errors.Is(err, fleet.ErrOffline):
		return &ResultError{Code: CodeVehicleOffline, Message: msg, Remedy: "the car has no connection; try again when it is back in coverage"}
	case errors.Is(err, ErrWakeTimeout):
		return &ResultError{Code: CodeVehicleAsleep, Message: fmt.Sprintf("the car did not wake up within %s", o.WakeTimeout),
			Remedy: "try again; a car in deep sleep or with poor coverage can take longer"}
	case errors.Is(err, fleet.ErrAsleep):
		return &ResultError{Code: CodeVehicleAsleep, Message: msg, Remedy: "the car is asleep or offline; send the command again to wake it"}
	case errors.Is(err, fleet.ErrMissingScopes):
		url := fleet.ConsentURL(o.ClientID, "")
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
		return keyNotPaired(o, t)
	case errors.Is(err, fleet.ErrMayHaveSucceeded):
		return &ResultError{Code: CodeTimeout, Message: msg, Remedy: "check the car's state before sending the command again; it may have run"}
	case errors.Is(err, fleet.ErrSigningRequired), errors.Is(err, fleet.ErrProtocolRequired):
		r := &ResultError{Code: CodeSigningRequired, Message: msg,
			Remedy: "this car only accepts signed commands: run 'tesla2mqtt keygen', host the public key, run 'tesla2mqtt register', set tesla.private_key_file and pair the key"}
		if o.Domain != "" {
			r.URL = fleet.PairingURL(o.Domain, t.UID())
		}
		return r
	case errors.Is(err, fleet.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &ResultError{Code: CodeTimeout, Message: msg, Remedy: "check the car's state before sending the command again; it may have run"}
	}
	return &ResultError{Code: CodeFleetError, Message: msg, Remedy: "see the bridge log; try again later"}
}

// keyNotPaired is the key_not_paired result: the car's own words and the
// link that opens the Tesla app's pairing screen.
func keyNotPaired(o Options, t Target) *ResultError {
	r := &ResultError{Code: CodeKeyNotPaired, Message: fleet.ErrKeyNotPaired.Error()}
	if o.Domain == "" {
		r.Remedy = "set tesla.domain, then open https://tesla.com/_ak/<domain> on the phone with the Tesla app and approve the key in the car."
		return r
	}
	r.URL = fleet.PairingURL(o.Domain, t.UID())
	r.Remedy = fmt.Sprintf("Open %s on the phone with the Tesla app and approve the key in the car.", fleet.PairingURL(o.Domain, ""))
	return r
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
