package economy

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Account-level dead ends: answers that say no call of this account can
// succeed until its owner acts, whatever the device or endpoint. Tesla
// bills every answer below 500, so retrying them on the polling schedule
// costs money for nothing: the bridge backs off, exponentially from
// DeadEndFirst to DeadEndMax, and lets one call through when the back-off
// ends; the first success clears the dead end by itself.
const (
	ProblemNotRegistered   = "region_not_registered"
	ProblemWrongRegion     = "wrong_region"
	ProblemBillingLimit    = "billing_limit"
	ProblemAppDisabled     = "app_disabled"
	ProblemPaymentRequired = "payment_required"
)

// The dead ends' back-off: 30 s, 1 min, 2 min … at most 30 min.
const (
	DeadEndFirst = 30 * time.Second
	DeadEndMax   = 30 * time.Minute
)

// Problem is an account-level dead end as bridge/status shows it.
type Problem struct {
	Code    string
	Message string
	Remedy  string
	// URL is where the remedy is carried out, if anywhere.
	URL string
	// Since is the first failure; RetryAt when the next call may go out;
	// Failures counts the failures so far.
	Since, RetryAt time.Time
	Failures       int
}

// DeadEnds tracks the account's current dead end. The zero value is ready;
// it is safe for concurrent use.
type DeadEnds struct {
	// Register is the command that registers the app (the remedy of 412).
	Register string

	mu      sync.Mutex
	problem *Problem
}

// ProblemOf names the account-level dead end err is, or "".
func ProblemOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, fleet.ErrNotRegistered):
		return ProblemNotRegistered
	case errors.Is(err, fleet.ErrWrongRegion):
		return ProblemWrongRegion
	case errors.Is(err, fleet.ErrAppDisabled):
		return ProblemAppDisabled
	case errors.Is(err, fleet.ErrExceededLimit):
		var ae *fleet.APIError
		if errors.As(err, &ae) && ae.Status == 402 && !strings.Contains(strings.ToUpper(ae.Message), "EXCEEDED_LIMIT") {
			return ProblemPaymentRequired
		}
		if ae == nil || ae.Status == 0 {
			return "" // our own hard cap, not Tesla's answer
		}
		return ProblemBillingLimit
	}
	return ""
}

// Failed records a failure. It returns the problem and whether it is new
// (or changed its code), for the caller to announce once; nil when err is
// no dead end.
func (d *DeadEnds) Failed(err error, now time.Time) (*Problem, bool) {
	code := ProblemOf(err)
	if code == "" {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fresh := d.problem == nil || d.problem.Code != code
	if fresh {
		d.problem = &Problem{Code: code, Since: now}
	}
	p := d.problem
	p.Failures++
	p.Message, p.Remedy, p.URL = err.Error(), d.remedy(code, err), remedyURL(code)
	wait := DeadEndFirst << min(p.Failures-1, 10)
	p.RetryAt = now.Add(min(wait, DeadEndMax))
	cp := *p
	return &cp, fresh
}

// Succeeded clears the dead end after a call that worked, and returns the
// one it cleared (nil when there was none).
func (d *DeadEnds) Succeeded() *Problem {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.problem
	d.problem = nil
	return p
}

// Blocked reports whether calls wait for the back-off now.
func (d *DeadEnds) Blocked(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.problem != nil && now.Before(d.problem.RetryAt)
}

// Current is the dead end now, or nil.
func (d *DeadEnds) Current() *Problem {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.problem == nil {
		return nil
	}
	cp := *d.problem
	return &cp
}

// remedy is what the user does about a dead end.
func (d *DeadEnds) remedy(code string, err error) string {
	switch code {
	case ProblemNotRegistered:
		reg := d.Register
		if reg == "" {
			reg = "tesla2mqtt register"
		}
		return fmt.Sprintf("register the app in the account's region: run '%s'; the bridge notices by itself", reg)
	case ProblemWrongRegion:
		var ae *fleet.APIError
		if errors.As(err, &ae) && ae.BaseURL != "" {
			return fmt.Sprintf("the account lives at %s: set tesla.api_base_url = %q (or remove a wrong one) and restart", ae.BaseURL, ae.BaseURL)
		}
		return "the account lives in another region: check tesla.api_base_url, or log in again so the bridge finds the region"
	case ProblemBillingLimit:
		return "the app's billing limit is reached: raise it on developer.tesla.com, or wait for the next month"
	case ProblemAppDisabled:
		return "Tesla disabled the app: check its billing and payment method on developer.tesla.com"
	case ProblemPaymentRequired:
		return "Tesla asks for payment: add a payment method or settle the invoice on developer.tesla.com"
	}
	return ""
}

func remedyURL(code string) string {
	switch code {
	case ProblemBillingLimit, ProblemAppDisabled, ProblemPaymentRequired:
		return "https://developer.tesla.com/dashboard"
	case ProblemNotRegistered:
		return "https://developer.tesla.com/docs/fleet-api/getting-started/partner-accounts#register"
	}
	return ""
}
