package pace

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// Check splits the budget's stretch k between the connectivity check
// (configured on spec) and the paid reads (economy.SplitStretch): a priced
// check is stretched first, up to every 10 minutes (15 when allStreaming
// says every car streams Fleet Telemetry), and only then the vehicle_data
// jobs. An unpriced check is never stretched and the reads take all of k;
// allStreaming is then not asked. cadence says what is in force, for
// bridge/info.
func Check(k int, spec string, now time.Time, priced bool, allStreaming func() bool) (check, reads int, cadence economy.CheckCadence) {
	interval := specInterval(spec, now)
	cadence = economy.CheckCadence{EverySeconds: int(interval / time.Second), Stretch: 1, Reason: "configured"}
	if !priced {
		return 1, max(k, 1), cadence
	}
	streaming := allStreaming()
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
