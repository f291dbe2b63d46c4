package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// The account's dead ends on bridge/status: the "problem" field (and
// bridge/info's account) while one lasts, which the bridge device's
// problem sensors (package discovery) read. problemevents.go announces
// them.

// accountProblem renders the current dead end for bridge/status, or nil.
func (b *Bridge) accountProblem() *contract.AccountProblem {
	return contract.ProblemOf(b.deadEnds.Current())
}
