package bridge

import (
	"sync"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// recorder is a hook that keeps what it hears.
type recorder struct {
	contract.HookBase
	mu       sync.Mutex
	states   []contract.StateEvent
	results  []command.Result
	done     []string
	requests []string
	// finished hears each OnCommandDone, answered each OnRequest.
	finished, answered chan struct{}
}

func (r *recorder) OnState(e contract.StateEvent) {
	r.mu.Lock()
	r.states = append(r.states, e)
	r.mu.Unlock()
}

func (r *recorder) OnResult(_ string, res command.Result) {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
}

func (r *recorder) OnCommandDone(device string, _ command.Result) {
	r.mu.Lock()
	r.done = append(r.done, device)
	r.mu.Unlock()
	r.finished <- struct{}{}
}

func (r *recorder) OnRequest(action string, _ contract.Response) {
	r.mu.Lock()
	r.requests = append(r.requests, action)
	r.mu.Unlock()
	if r.answered != nil {
		r.answered <- struct{}{}
	}
}

// Hooks hear what the bridge publishes, with a snapshot a hook may keep:
// every device's first state (forced), a car's view, a command's result
// and its end, a request's answer.
func TestHooksHearTheBridge(t *testing.T) {
	rec := &recorder{finished: make(chan struct{}, 1), answered: make(chan struct{}, 1)}
	_, _, pub, _ := newTestBridge(t, func(o *Options) { o.Hooks = []contract.Hook{rec} })
	pub.Send("t2m/"+testVIN+"/set/charge_limit", "80")
	if r := pub.waitResult(t); r.Status != command.StatusOK {
		t.Fatalf("result = %+v", r)
	}
	<-rec.finished // after the confirming read
	pub.Send("t2m/bridge/request/republish", "{}")
	<-rec.answered // the republish runs on Run's goroutine
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var car, site *contract.StateEvent
	for i := range rec.states {
		switch e := &rec.states[i]; {
		case e.UID == testVIN && car == nil:
			car = e
		case e.UID == "42" && site == nil:
			site = e
		}
	}
	if car == nil || !car.Force || car.Kind != "vehicle" || car.Vehicle == nil || car.Vehicle.VIN != testVIN {
		t.Errorf("the car's first state event = %+v", car)
	}
	if site == nil || site.Kind != "energy_site" || site.Vehicle != nil {
		t.Errorf("the site's first state event = %+v", site)
	}
	if len(rec.results) != 1 || rec.results[0].Key != "charge_limit" {
		t.Errorf("results = %+v", rec.results)
	}
	if len(rec.done) != 1 || rec.done[0] != testVIN {
		t.Errorf("commands done = %v", rec.done)
	}
	if len(rec.requests) != 1 || rec.requests[0] != "republish" {
		t.Errorf("requests = %v", rec.requests)
	}
}
