package fleetsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// AnyEndpoint can be passed to FailNext, SetLatency and SetMalformed to hit
// every endpoint. A fault set for a specific endpoint is used first.
const AnyEndpoint = "*"

type failSpec struct {
	status int
	left   int
}

// faultState holds the injected faults. Guarded by Sim.mu.
type faultState struct {
	fails     map[string][]failSpec
	malformed map[string]int
	latency   map[string]time.Duration
}

// FailNext makes the next n requests to endpoint (a metering name such as
// "vehicle_data", or AnyEndpoint) answer status with a plausible Tesla body
// instead of being served: 408 the asleep text, 429 with Retry-After: 30,
// 421 "user out of region, use base URL: <this server>", 5xx server errors…
// The request is still counted (and billed when status < 500). Calls queue:
// FailNext(e, 503, 1); FailNext(e, 429, 2) fails once with 503, then twice
// with 429.
func (s *Sim) FailNext(endpoint string, status, n int) {
	if n <= 0 || status < 100 || status > 999 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.fails == nil {
		s.faults.fails = map[string][]failSpec{}
	}
	s.faults.fails[endpoint] = append(s.faults.fails[endpoint], failSpec{status, n})
}

// SetLatency delays every request to endpoint by d of real time (not
// simulated time) before it is served, to exercise client timeouts. The
// wait ends early when the request's context is cancelled; such requests
// are neither answered nor counted. d <= 0 removes the delay.
func (s *Sim) SetLatency(endpoint string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.latency == nil {
		s.faults.latency = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(s.faults.latency, endpoint)
		return
	}
	s.faults.latency[endpoint] = d
}

// SetMalformed makes the next n responses of endpoint (or AnyEndpoint)
// truncated JSON: the request is served normally (state changes happen),
// with its normal status, but only the first half of the body is sent.
// n <= 0 clears it.
func (s *Sim) SetMalformed(endpoint string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.malformed == nil {
		s.faults.malformed = map[string]int{}
	}
	if n <= 0 {
		delete(s.faults.malformed, endpoint)
		return
	}
	s.faults.malformed[endpoint] = n
}

// ClearFaults removes every injected failure, latency and malformation.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	s.faults = faultState{}
	s.mu.Unlock()
}

func (s *Sim) latency(endpoint string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, found := s.faults.latency[endpoint]; found {
		return d
	}
	return s.faults.latency[AnyEndpoint]
}

// takeFail consumes one injected failure for endpoint, if any.
func (f *faultState) takeFail(endpoint string) (int, bool) {
	for _, key := range []string{endpoint, AnyEndpoint} {
		q := f.fails[key]
		if len(q) == 0 {
			continue
		}
		status := q[0].status
		q[0].left--
		if q[0].left <= 0 {
			q = q[1:]
		}
		if len(q) == 0 {
			delete(f.fails, key)
		} else {
			f.fails[key] = q
		}
		return status, true
	}
	return 0, false
}

// takeMalformed consumes one malformation for endpoint, if any.
func (f *faultState) takeMalformed(endpoint string) bool {
	for _, key := range []string{endpoint, AnyEndpoint} {
		if n := f.malformed[key]; n > 0 {
			if n == 1 {
				delete(f.malformed, key)
			} else {
				f.malformed[key] = n - 1
			}
			return true
		}
	}
	return false
}

// faultResponse is the body Tesla sends for status (FLEET_API §3.2).
func faultResponse(status int, req *request) response {
	switch status {
	case http.StatusBadRequest:
		return apiError(status, "invalid_request")
	case http.StatusUnauthorized:
		return apiError(status, errTokenExpired)
	case http.StatusForbidden:
		return apiError(status, errMissingScopes)
	case http.StatusNotFound:
		return apiError(status, errNotFound)
	case http.StatusRequestTimeout:
		return apiError(status, errAsleep)
	case http.StatusPreconditionFailed:
		return apiError(status, fmt.Sprintf("Account %s must be registered in the current region %s/, please see https://developer.tesla.com/docs/fleet-api/getting-started/partner-accounts#register", ClientID, req.BaseURL))
	case http.StatusMisdirectedRequest:
		return apiError(status, "user out of region, use base URL: "+req.BaseURL).
			with("Alt-Svc", "h2="+req.BaseURL)
	case http.StatusTooManyRequests:
		return apiError(status, "Too Many Requests").
			with("Retry-After", "30").
			with("RateLimit-Limit", "60").
			with("RateLimit-Remaining", "0").
			with("RateLimit-Reset", "30")
	case http.StatusInternalServerError:
		return apiError(status, "internal_error")
	case http.StatusServiceUnavailable:
		return apiError(status, "upstream internal error")
	case http.StatusGatewayTimeout:
		return apiError(status, "timeout")
	}
	text := strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	if text == "" {
		text = "error"
	}
	return apiError(status, text)
}
