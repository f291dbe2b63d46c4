package device

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device/pace"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// CheckPace splits the budget's stretch k between the connectivity check
// and the paid reads (pace.Check): a priced check is stretched first, and
// only then the vehicle_data jobs. cadence says what is in force, for
// bridge/info.
func (r *Registry) CheckPace(k int) (check, reads int, cadence economy.CheckCadence) {
	priced := r.opts.Budget.Prices().Connectivity > 0
	return pace.Check(k, r.opts.Specs.Connectivity, r.now(), priced, r.allStreaming)
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
