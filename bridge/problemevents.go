package bridge

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// The account's dead ends announced: a bridge/event when one starts and
// when it clears, and bridge/status and bridge/info republished with it.

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
