package device

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// CheckPace splits the budget's stretch k between the connectivity check
// and the paid reads (economy.SplitStretch): a priced check is stretched
// first, up to every 10 minutes (15 when every car streams Fleet
// Telemetry), and only then the vehicle_data jobs. An unpriced check is
// never stretched and the reads take all of k. cadence says what is in
// force, for bridge/info.
func (r *Registry) CheckPace(k int) (check, reads int, cadence economy.CheckCadence) {
	interval := specInterval(r.opts.Specs.Connectivity, r.now())
	cadence = economy.CheckCadence{EverySeconds: int(interval / time.Second), Stretch: 1, Reason: "configured"}
	if r.opts.Budget.Prices().Connectivity <= 0 {
		return 1, max(k, 1), cadence
	}
	streaming := r.allStreaming()
	check, reads = economy.SplitStretch(k, economy.CheckMaxTurns(interval, streaming))
	if check > 1 {
		cadence.Reason = "budget"
		if streaming {
			cadence.Reason = "budget_streaming"
		}
	}
	cadence.Stretch, cadence.EverySeconds = check, int(interval/time.Second)*check
	return check, reads, cadence
}

// allStreaming reports whether the account has cars and every one of them
// streams Fleet Telemetry now.
func (r *Registry) allStreaming() bool {
	cs := r.carFamily()
	if cs == nil {
		return false
	}
	all := cs.all()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range all {
		if !cs.streamAliveLocked(c) {
			return false
		}
	}
	return len(all) > 0
}

// specInterval is the gap between a cron spec's next two turns after now
// (0 for an empty or invalid spec).
func specInterval(spec string, now time.Time) time.Duration {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return 0
	}
	next := s.Next(now)
	return s.Next(next).Sub(next)
}
