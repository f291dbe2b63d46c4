package bridge

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// The account's dead ends on MQTT: a bridge/event when one starts and when
// it clears, and the "problem" field of bridge/status (and bridge/info's
// account) while it lasts, which the bridge device's problem sensors read.

// Account problem event types on <base>/bridge/event.
const (
	EventAccountProblem        = "account_problem"
	EventAccountProblemCleared = "account_problem_cleared"
)

// problemEvent is the payload of an account problem event.
type problemEvent struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message,omitempty"`
	Remedy    string `json:"remedy,omitempty"`
	URL       string `json:"url,omitempty"`
	NextRetry string `json:"next_retry,omitempty"`
	At        string `json:"at"`
}

// problemSensors name the bridge device's problem sensors, one per code.
var problemSensors = []entity.ProblemSensor{
	{Code: economy.ProblemNotRegistered, Name: "App not registered in region"},
	{Code: economy.ProblemWrongRegion, Name: "Wrong region"},
	{Code: economy.ProblemBillingLimit, Name: "Billing limit reached"},
	{Code: economy.ProblemAppDisabled, Name: "App disabled"},
	{Code: economy.ProblemPaymentRequired, Name: "Payment required"},
}

// accountProblem renders the current dead end for bridge/status, or nil.
func (b *Bridge) accountProblem() *AccountProblem {
	p := b.deadEnds.Current()
	if p == nil {
		return nil
	}
	return &AccountProblem{Code: p.Code, Message: p.Message, Remedy: p.Remedy, URL: p.URL, Failures: p.Failures,
		Since: p.Since.UTC().Format(time.RFC3339), NextRetry: p.RetryAt.UTC().Format(time.RFC3339)}
}

// announceProblem publishes a dead end: the event when it is fresh, and
// bridge/status and bridge/info every time (the next retry moved).
func (b *Bridge) announceProblem(p *economy.Problem, fresh bool) {
	b.mu.Lock()
	b.problemSeen = true
	b.mu.Unlock()
	if fresh {
		b.publishProblemEvent(problemEvent{Type: EventAccountProblem, Code: p.Code, Message: p.Message, Remedy: p.Remedy,
			URL: p.URL, NextRetry: p.RetryAt.UTC().Format(time.RFC3339)})
	}
	b.publishInfo()
}

// announceCleared publishes the end of a dead end.
func (b *Bridge) announceCleared(p *economy.Problem) {
	b.publishProblemEvent(problemEvent{Type: EventAccountProblemCleared, Code: p.Code})
	b.publishInfo()
}

func (b *Bridge) publishProblemEvent(ev problemEvent) {
	ev.At = b.now().UTC().Format(time.RFC3339)
	if payload, err := json.Marshal(ev); err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
}
