package economy

import (
	"fmt"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Each of Tesla's account-level answers is its own dead end; a device's
// own trouble and the bridge's hard cap are none.
func TestProblemOf(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&fleet.APIError{Status: 412, Kind: fleet.ErrNotRegistered}, ProblemNotRegistered},
		{&fleet.APIError{Status: 421, Kind: fleet.ErrWrongRegion}, ProblemWrongRegion},
		{&fleet.APIError{Status: 403, Kind: fleet.ErrExceededLimit, Message: "EXCEEDED_LIMIT"}, ProblemBillingLimit},
		{&fleet.APIError{Status: 402, Kind: fleet.ErrExceededLimit, Message: "payment required"}, ProblemPaymentRequired},
		{&fleet.APIError{Status: 402, Kind: fleet.ErrExceededLimit, Message: "EXCEEDED_LIMIT"}, ProblemBillingLimit},
		{&fleet.APIError{Status: 403, Kind: fleet.ErrAppDisabled}, ProblemAppDisabled},
		{fmt.Errorf("wrapped: %w", &fleet.APIError{Status: 412, Kind: fleet.ErrNotRegistered}), ProblemNotRegistered},
		{HardCapError(fleet.CallCommand), ""},
		{&fleet.APIError{Status: 408, Kind: fleet.ErrAsleep}, ""},
		{&fleet.APIError{Status: 503, Kind: fleet.ErrServer}, ""},
	}
	for _, c := range cases {
		if got := ProblemOf(c.err); got != c.want {
			t.Errorf("ProblemOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// The back-off doubles from 30 s and stops at 30 min; a success clears it.
func TestDeadEndBackOffCapped(t *testing.T) {
	var d DeadEnds
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := &fleet.APIError{Status: 412, Kind: fleet.ErrNotRegistered}
	var waits []time.Duration
	for range 9 {
		p, _ := d.Failed(err, now)
		waits = append(waits, p.RetryAt.Sub(now))
		if !d.Blocked(now) || d.Blocked(p.RetryAt) {
			t.Fatal("blocked wrongly around the retry time")
		}
		now = p.RetryAt
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	if p := d.Succeeded(); p == nil || p.Code != ProblemNotRegistered || d.Current() != nil || d.Blocked(now) {
		t.Errorf("success did not clear: %v", d.Current())
	}
}
