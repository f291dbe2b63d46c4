package fleet

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every failed Fleet API call returns an *APIError whose
// Unwrap gives one of these, so callers classify with errors.Is and never by
// message text.
var (
	// ErrAsleep: 408, the car is asleep or offline. Waking it costs a wake.
	ErrAsleep = errors.New("vehicle unavailable: vehicle is offline or asleep")
	// ErrUnauthorized: 401, the access token is invalid or expired.
	ErrUnauthorized = errors.New("unauthorized: the access token was refused")
	// ErrMissingScopes: 403 "missing scopes"; the user must grant more consent.
	ErrMissingScopes = errors.New("the token lacks a required scope")
	// ErrForbidden: any other 403 (unsupported vehicle, account disabled, protocol required).
	ErrForbidden = errors.New("forbidden")
	// ErrProtocolRequired: 403 "Tesla Vehicle Command Protocol required"; the car needs signed commands.
	ErrProtocolRequired = errors.New("vehicle command protocol required: this car only accepts signed commands")
	// ErrExceededLimit: 403/402 with EXCEEDED_LIMIT; the app's billing limit is reached.
	ErrExceededLimit = errors.New("the developer account's billing limit is exceeded")
	// ErrNotRegistered: 412, the app is not registered in this region.
	ErrNotRegistered = errors.New("the application is not registered in this region")
	// ErrWrongRegion: 421, the account lives in another region (APIError.BaseURL says which).
	ErrWrongRegion = errors.New("wrong region for this account")
	// ErrRateLimited: 429 (APIError.RetryAfter says when to try again).
	ErrRateLimited = errors.New("rate limited by the Fleet API")
	// ErrNotFound: 404.
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: other 4xx.
	ErrBadRequest = errors.New("request refused by the Fleet API")
	// ErrServer: 5xx. Not billed; retry later with back-off.
	ErrServer = errors.New("Fleet API server error")
	// ErrMalformed: the response was not the JSON we expected.
	ErrMalformed = errors.New("malformed Fleet API response")
	// ErrTooLarge: the response exceeded the size limit.
	ErrTooLarge = errors.New("Fleet API response too large")
	// ErrTimeout: the request ran past its deadline.
	ErrTimeout = errors.New("Fleet API request timed out")
)

// ErrOffline: the car has no connection (Fleet state "offline"), as opposed
// to asleep. A wake cannot reach it until it is back in coverage; see
// ErrForState.
var ErrOffline = errors.New("vehicle offline: the car has no connection")

// ErrAppDisabled: 403 saying the developer app is disabled (Tesla disables
// apps past their billing limit or without a payment method); nothing
// works until the owner acts on developer.tesla.com.
var ErrAppDisabled = errors.New("the developer application is disabled")

// ErrNetwork: no HTTP response arrived (DNS, connect, TLS, connection reset,
// cancelled context). Kept apart from ErrServer because nothing was billed and
// nothing reached Tesla, so the bridge can report "offline" rather than
// "Tesla failing" and retry freely.
var ErrNetwork = errors.New("Fleet API unreachable")

// APIError is a failed Fleet API call.
type APIError struct {
	// Endpoint is the metering name of the call ("vehicle_data", "live_status"…).
	Endpoint string
	// Status is the HTTP status (0 when no response arrived).
	Status int
	// Message is Tesla's error text (the "error" field), if any.
	Message string
	// RetryAfter is set for 429 from the Retry-After header.
	RetryAfter time.Duration
	// BaseURL is set for 421: the base URL the account belongs to.
	BaseURL string
	// Kind is the sentinel this error matches.
	Kind error
	// Unsent is true when the request provably never left this host: the
	// name did not resolve, the connection or the TLS handshake failed.
	// Such a command cannot have run. The zero value is the cautious one.
	Unsent bool
}

// Error names the endpoint, the status and Tesla's own text; never the token or the URL query.
func (e *APIError) Error() string {
	msg := e.Kind.Error()
	if e.Message != "" && e.Message != msg {
		msg += ": " + e.Message
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s: HTTP %d: %s", e.Endpoint, e.Status, msg)
	}
	return fmt.Sprintf("%s: %s", e.Endpoint, msg)
}

// Unwrap lets errors.Is match the sentinel.
func (e *APIError) Unwrap() error { return e.Kind }

var _ error = (*APIError)(nil)

// RetryAfterOf returns the Retry-After of a rate-limit error, or 0.
func RetryAfterOf(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}

// StatusOf returns the HTTP status of a Fleet API error, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}
