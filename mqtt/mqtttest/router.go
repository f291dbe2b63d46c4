package mqtttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// watchBuffer is the capacity of a Watch channel.
const watchBuffer = 256

// client is the method set a Router shares with *mqtt.Client, so that it
// stands in wherever code takes an interface of the client's methods (the
// bridge's Publisher). The checks keep the two from drifting apart.
type client interface {
	Publish(topic string, payload []byte, retained bool) error
	PublishAsync(topic string, payload []byte, retained bool) <-chan error
	PublishMany(ctx context.Context, msgs []mqtt.Outgoing) error
	Subscribe(filter string, h mqtt.Handler) error
	Unsubscribe(filter string) error
	OnConnect(f func())
}

var (
	_ client = (*Router)(nil)
	_ client = (*mqtt.Client)(nil)
)

// Option tunes a Router.
type Option func(*Router)

// Loopback makes every Publish reach the matching subscribers too, as a
// broker delivers a client's own publishes to its subscriptions (live
// delivery: Retained is false).
func Loopback() Option { return func(r *Router) { r.loopback = true } }

// ReplayRetained hands a new subscription the retained messages it
// matches, Retained set, as a broker does.
func ReplayRetained() Option { return func(r *Router) { r.replay = true } }

// DropHistory keeps the retained state but no log of publishes, for long
// replays (a simulated day) that publish more than is worth keeping;
// Messages, Count and Last then see nothing.
func DropHistory() Option { return func(r *Router) { r.dropHistory = true } }

// Router is an in-memory stand-in for mqtt.Client. It records every
// publish and the retained state, and delivers injected messages to the
// handlers whose filters match, with mqtt.Match. Handlers run one at a time
// in arrival order, as the real client promises; a message injected while
// another goroutine is delivering is delivered by that goroutine, after the
// ones before it. It is safe for concurrent use.
type Router struct {
	loopback, replay, dropHistory bool

	mu        sync.Mutex
	handlers  map[string]mqtt.Handler
	callbacks []func()
	retained  map[string][]byte
	published []mqtt.Message
	watchers  []watcher

	dmu        sync.Mutex // guards the delivery queue
	queue      []queued
	delivering bool
}

type watcher struct {
	filter string
	ch     chan mqtt.Message
}

// NewRouter returns an empty router.
func NewRouter(opts ...Option) *Router {
	r := &Router{handlers: map[string]mqtt.Handler{}, retained: map[string][]byte{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Publish records the message; a retained one replaces the topic's
// retained payload, and an empty retained payload clears it, as on a
// broker. It fails, like the real client, for a topic with wildcards, and
// when a Watch channel it should reach is full.
func (r *Router) Publish(topic string, payload []byte, retained bool) error {
	if !mqtt.ValidTopic(topic) {
		return fmt.Errorf("mqtttest: publish %q: invalid topic", topic)
	}
	m := mqtt.Message{Topic: topic, Payload: slices.Clone(payload), Retained: retained}
	r.mu.Lock()
	if !r.dropHistory {
		r.published = append(r.published, m)
	}
	r.retainLocked(m)
	var full []string
	for _, w := range r.watchers {
		if mqtt.Match(w.filter, topic) {
			select {
			case w.ch <- m:
			default:
				full = append(full, w.filter)
			}
		}
	}
	r.mu.Unlock()
	if r.loopback {
		r.deliver(mqtt.Message{Topic: m.Topic, Payload: m.Payload})
	}
	if len(full) > 0 {
		return fmt.Errorf("mqtttest: publish %s: the watcher of %v is full", topic, full)
	}
	return nil
}

// PublishAsync is Publish with the real client's pipelined signature: the
// message is recorded before it returns, and the channel holds Publish's
// outcome.
func (r *Router) PublishAsync(topic string, payload []byte, retained bool) <-chan error {
	done := make(chan error, 1)
	done <- r.Publish(topic, payload, retained)
	return done
}

// PublishMany publishes msgs in order, as Publish, and joins the failures.
func (r *Router) PublishMany(ctx context.Context, msgs []mqtt.Outgoing) error {
	var errs []error
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := r.Publish(m.Topic, m.Payload, m.Retained); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Router) retainLocked(m mqtt.Message) {
	switch {
	case !m.Retained:
	case len(m.Payload) == 0:
		delete(r.retained, m.Topic)
	default:
		r.retained[m.Topic] = m.Payload
	}
}

// Subscribe routes messages matching filter to h, replacing any handler
// for the same filter.
func (r *Router) Subscribe(filter string, h mqtt.Handler) error {
	if h == nil || !mqtt.ValidFilter(filter) {
		return fmt.Errorf("mqtttest: subscribe %q: invalid filter or nil handler", filter)
	}
	r.mu.Lock()
	r.handlers[filter] = h
	var replay []mqtt.Message
	if r.replay {
		for topic, p := range r.retained {
			if mqtt.Match(filter, topic) {
				replay = append(replay, mqtt.Message{Topic: topic, Payload: p, Retained: true})
			}
		}
	}
	r.mu.Unlock()
	slices.SortFunc(replay, func(a, b mqtt.Message) int { return strings.Compare(a.Topic, b.Topic) })
	for _, m := range replay {
		r.deliverTo(m, filter)
	}
	return nil
}

// Unsubscribe forgets the handler for filter.
func (r *Router) Unsubscribe(filter string) error {
	r.mu.Lock()
	delete(r.handlers, filter)
	r.mu.Unlock()
	return nil
}

// OnConnect registers f to run on every Connect.
func (r *Router) OnConnect(f func()) {
	r.mu.Lock()
	r.callbacks = append(r.callbacks, f)
	r.mu.Unlock()
}

// Connect plays a (re)connect: it runs the OnConnect callbacks in order,
// on the caller's goroutine.
func (r *Router) Connect() {
	r.mu.Lock()
	cbs := slices.Clone(r.callbacks)
	r.mu.Unlock()
	for _, f := range cbs {
		f()
	}
}

// Inject delivers m to every handler whose filter matches its topic, as
// an inbound message from the broker. A retained m (Retained set) is
// also kept as the topic's retained message, as if another client had
// published it retained.
func (r *Router) Inject(m mqtt.Message) {
	m.Payload = slices.Clone(m.Payload)
	if m.Retained {
		r.mu.Lock()
		r.retainLocked(m)
		r.mu.Unlock()
	}
	r.deliver(m)
}

// Send injects a live (not retained) message with a text payload.
func (r *Router) Send(topic, payload string) {
	r.Inject(mqtt.Message{Topic: topic, Payload: []byte(payload)})
}

// deliver queues m and, unless another goroutine is delivering, delivers
// the queue.
func (r *Router) deliver(m mqtt.Message) { r.enqueue(m, "") }

// deliverTo delivers m to the one handler of filter.
func (r *Router) deliverTo(m mqtt.Message, filter string) { r.enqueue(m, filter) }

type queued struct {
	m      mqtt.Message
	filter string // "" = every matching handler
}

func (r *Router) enqueue(m mqtt.Message, filter string) {
	r.dmu.Lock()
	r.queue = append(r.queue, queued{m, filter})
	if r.delivering {
		r.dmu.Unlock()
		return
	}
	r.delivering = true
	r.dmu.Unlock()
	done := false
	defer func() {
		if !done { // a handler panicked: let the next message deliver
			r.dmu.Lock()
			r.delivering = false
			r.dmu.Unlock()
		}
	}()
	for {
		r.dmu.Lock()
		if len(r.queue) == 0 {
			r.delivering, done = false, true
			r.dmu.Unlock()
			return
		}
		next := r.queue[0]
		r.queue = r.queue[1:]
		r.dmu.Unlock()
		for _, h := range r.matching(next.m.Topic, next.filter) {
			h(next.m)
		}
	}
}

// matching returns the handlers for topic, ordered by filter like the
// real client's; with only set, just that filter's.
func (r *Router) matching(topic, only string) []mqtt.Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	var filters []string
	for f := range r.handlers {
		if (only == "" || f == only) && mqtt.Match(f, topic) {
			filters = append(filters, f)
		}
	}
	slices.Sort(filters)
	hs := make([]mqtt.Handler, len(filters))
	for i, f := range filters {
		hs[i] = r.handlers[f]
	}
	return hs
}

// Retained returns the retained payload of topic.
func (r *Router) Retained(topic string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.retained[topic]
	return slices.Clone(p), ok
}

// RetainedTopics returns the topics that hold a retained message, sorted.
func (r *Router) RetainedTopics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.retained))
	for t := range r.retained {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// ErrNoRetained is returned by JSON for a topic without a retained message.
var ErrNoRetained = errors.New("mqtttest: nothing retained")

// JSON decodes the retained payload of topic into a map.
func (r *Router) JSON(topic string) (map[string]any, error) {
	p, ok := r.Retained(topic)
	if !ok {
		return nil, fmt.Errorf("%w on %s", ErrNoRetained, topic)
	}
	m := map[string]any{}
	if err := json.Unmarshal(p, &m); err != nil {
		return nil, fmt.Errorf("mqtttest: retained payload on %s is not a JSON object: %w", topic, err)
	}
	return m, nil
}

// Messages returns every message published so far, in order.
func (r *Router) Messages() []mqtt.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.published)
}

// Count returns how many messages were published to topic.
func (r *Router) Count(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.published {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// Last returns the last message published to topic.
func (r *Router) Last(topic string) (mqtt.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.published) - 1; i >= 0; i-- {
		if r.published[i].Topic == topic {
			return r.published[i], true
		}
	}
	return mqtt.Message{}, false
}

// Watch returns a channel that receives every later publish whose topic
// matches filter, so a test can wait for one (a command's result) instead
// of polling. It holds 256 messages; a publish that finds it full fails.
func (r *Router) Watch(filter string) <-chan mqtt.Message {
	ch := make(chan mqtt.Message, watchBuffer)
	r.mu.Lock()
	r.watchers = append(r.watchers, watcher{filter: filter, ch: ch})
	r.mu.Unlock()
	return ch
}
