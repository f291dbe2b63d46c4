package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// The account's dead ends on bridge/status: the "problem" field (and
// bridge/info's account) while one lasts, which the bridge device's
// problem sensors read. problemevents.go announces them.

// problemSensors name the bridge device's problem sensors, one per code.
var problemSensors = []entity.ProblemSensor{
	{Code: economy.ProblemNotRegistered, Name: "App not registered in region"},
	{Code: economy.ProblemWrongRegion, Name: "Wrong region"},
	{Code: economy.ProblemBillingLimit, Name: "Billing limit reached"},
	{Code: economy.ProblemAppDisabled, Name: "App disabled"},
	{Code: economy.ProblemPaymentRequired, Name: "Payment required"},
}

// accountProblem renders the current dead end for bridge/status, or nil.
func (b *Bridge) accountProblem() *contract.AccountProblem {
	return contract.ProblemOf(b.deadEnds.Current())
}
