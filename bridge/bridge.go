package bridge

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Bridge joins the Fleet API and MQTT: it owns the devices, their state and
// discovery, and the polling jobs.
type Bridge struct {
	opts   Options
	fleet  FleetAPI
	pub    Publisher
	log    zerolog.Logger
	origin hass.Origin
	// send is the Fleet API's acting half behind the budget's hard cap;
	// cmdr the vehicle command path behind it.
	send command.Sender
	cmdr command.Commander
	exec *command.Executor
	// gates are the reads' back-off states; pauser the EXCEEDED_LIMIT pause.
	gates  *economy.Gates
	pauser economy.Pauser
	// families are the device kinds that the account's products become, in
	// the order their first reads run; a Wall Connector comes with its site.
	families []family
	// calls and births hand work that arrives over MQTT to Run, which owns
	// the context it runs on; halted is closed when Run stops taking it.
	calls  chan call
	births chan time.Duration
	halted chan struct{}

	mu          sync.Mutex
	devices     map[string]*device // by topic name
	byUID       map[string]*device // by VIN or site id
	lastRefresh map[string]time.Time
	discovered  bool
	// missing counts consecutive product lists without a device, by uid (removal.go).
	missing map[string]int
	// ticks counts each stretchable job's turns; lastInfo is when the
	// budget's bridge/info was last published.
	ticks    map[string]int
	lastInfo time.Time
}

// bind offers the kind's rows the user and the token allow, and reports
// whether the offered set changed (then the caller republishes discovery,
// which clears the configs no longer offered). Callers hold b.mu.
func (b *Bridge) bind(d *device) bool {
	next := b.filter(d.k.table())
	changed := len(next) != len(d.rows)
	for i := 0; !changed && i < len(next); i++ {
		changed = next[i] != d.rows[i]
	}
	d.rows = next
	return changed
}

// now is the bridge clock's time.
func (b *Bridge) now() time.Time { return b.opts.Clock.Now() }

// wait waits d on the bridge's clock and reports false when ctx ended
// first. Unlike Clock.Sleep, a test clock does not move by itself here: a
// retry waits until the test advances time.
func (b *Bridge) wait(ctx context.Context, d time.Duration) bool {
	t := b.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// guard runs a job and turns a panic into a log line: one device's odd data
// must never take the bridge down.
func (b *Bridge) guard(name string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error().Str("job", name).Interface("panic", r).Msg("job panicked; recovered")
		}
	}()
	f()
}

// call is work an MQTT handler hands to Run (within).
type call struct {
	fn   func(ctx context.Context)
	done chan struct{}
}

// within runs fn on Run's context and returns when it is done; false when
// Run is shutting down (or does first) and fn did not run. MQTT handlers
// and jobs registered outside Run have no context of their own: a get or
// refresh request reads the account on the bridge's, so that shutdown
// cancels the reads.
func (b *Bridge) within(fn func(ctx context.Context)) bool {
	c := call{fn: fn, done: make(chan struct{})}
	select {
	case b.calls <- c:
	case <-b.halted:
		return false
	}
	<-c.done
	return true
}

// publish sends one message and logs a failure; state is cached in the
// devices and republished on the next connect, so nothing is lost.
func (b *Bridge) publish(topic string, payload []byte, retained bool) {
	if err := b.pub.Publish(topic, payload, retained); err != nil {
		b.log.Debug().Err(err).Str("topic", topic).Msg("publish failed; will republish on reconnect")
	}
}

// topics returns the MQTT topics of a device.
func (b *Bridge) topics(d *device) entity.Topics {
	base := b.opts.BaseTopic + "/" + d.name
	return entity.Topics{
		State:        base,
		Availability: base + "/availability",
		Set:          base + "/set",
		Bridge:       b.opts.BaseTopic + "/bridge/state",
	}
}

// filter drops the rows the user disabled and those whose scope the token
// lacks, so nothing is offered that would fail at every poll.
func (b *Bridge) filter(in []*entity.Spec) []*entity.Spec {
	disabled := map[string]bool{}
	for _, k := range b.opts.DisabledEntities {
		disabled[k] = true
	}
	granted := b.granted()
	out := make([]*entity.Spec, 0, len(in))
	for _, e := range in {
		if disabled[e.Key] {
			continue
		}
		if e.Scope != "" && granted != nil && !granted[e.Scope] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// granted returns the granted scopes as a set, or nil when unknown (all allowed).
func (b *Bridge) granted() map[string]bool {
	if b.opts.GrantedScopes == nil {
		return nil
	}
	set := map[string]bool{}
	for _, s := range b.opts.GrantedScopes() {
		set[s] = true
	}
	return set
}

// sortedDevices returns the devices ordered by name, for stable output.
func (b *Bridge) sortedDevices() []*device {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*device, 0, len(b.devices))
	for _, d := range b.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// device returns the device with a topic name, or nil.
func (b *Bridge) device(name string) *device {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.devices[name]
}

// register adds a device to the registry. Callers hold b.mu.
func (b *Bridge) register(d *device) {
	d.hassDevice = d.k.hassDevice()
	b.devices[d.name] = d
	b.byUID[d.uid] = d
}

// readLog picks the level of a failed read's log line. Without a usable
// login every read fails for the same reason, which the account already
// reported once (log line, event, problem sensor): those become debug lines
// instead of a warning per device a minute.
func (b *Bridge) readLog(err error) *zerolog.Event {
	if errors.Is(err, fleet.ErrLoginRequired) || errors.Is(err, fleet.ErrNoToken) {
		return b.log.Debug()
	}
	return b.log.Warn()
}
