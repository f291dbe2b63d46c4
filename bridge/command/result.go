package command

import "github.com/tesla2mqtt/tesla2mqtt/bridge/entity"

// Error codes of command results: a closed, documented set. Every code has
// a remedy the user can act on (DESIGN.md "MQTT contract").
const (
	CodeInvalidPayload   = entity.CodeInvalidPayload
	CodeUnknownKey       = "unknown_key"
	CodeReadOnly         = "read_only"
	CodeMissingScope     = "missing_scope"
	CodeKeyNotPaired     = "key_not_paired"
	CodeSigningRequired  = "signing_required"
	CodeVehicleAsleep    = "vehicle_asleep"
	CodeVehicleOffline   = "vehicle_offline"
	CodeCarRefused       = "car_refused"
	CodeRateLimited      = "rate_limited"
	CodeBudgetExceeded   = "budget_exceeded"
	CodeLoginRequired    = "login_required"
	CodeRegionNotRegistd = "region_not_registered"
	CodeTimeout          = "timeout"
	CodeFleetError       = "fleet_error"
	CodeCommandDenied    = "command_denied"
	// CodeExpired: the command could not start within its maximum age
	// (or the sender's own deadline) and was not sent.
	CodeExpired = "expired"
	// CodeOverloaded: the message was dropped unread, its device's queue
	// being full; nothing was sent.
	CodeOverloaded = "overloaded"
	// CodeRetainedIgnored: the message came retained, i.e. from the
	// broker's memory rather than from a sender now; never executed.
	CodeRetainedIgnored = "retained_ignored"
)

// Result statuses.
const (
	StatusOK      = "ok"
	StatusError   = "error"
	StatusUnknown = "unknown" // may have run; never retried blindly
)

// Result is one command result on <base>/<device>/result.
type Result struct {
	Transaction any          `json:"transaction,omitempty"`
	Key         string       `json:"key"`
	Command     string       `json:"command,omitempty"`
	Status      string       `json:"status"`
	Error       *ResultError `json:"error,omitempty"`
	// Note explains an ok outcome that was not a plain success, e.g. the car
	// answered already_set.
	Note string `json:"note,omitempty"`
	Woke bool   `json:"woke"`
	At   string `json:"at"`
}

// ResultError says what went wrong and what to do about it.
type ResultError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Remedy  string `json:"remedy,omitempty"`
	URL     string `json:"url,omitempty"`
	// RetryAfter is set for rate_limited, in seconds.
	RetryAfter int `json:"retry_after,omitempty"`
}

// Summary is the result as the last_command diagnostic entity shows it:
// "charge_limit: error (key_not_paired)".
func (r Result) Summary() string {
	s := r.Key + ": " + r.Status
	if r.Error != nil {
		s += " (" + r.Error.Code + ")"
	}
	return s
}

// Code is the result's error code, "" for a success.
func (r Result) Code() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Code
}
