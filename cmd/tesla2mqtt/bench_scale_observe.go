package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// scaleObserver is the bench's own MQTT client, subscribed to everything
// under the bridge's base topic and discovery prefix: every number the
// bench reports about publishing is what a subscriber saw arrive, so it
// stays true whatever the bridge does inside.
type scaleObserver struct {
	client paho.Client
	wall   clock.Clock
	base   string
	prefix string

	msgs, bytes atomic.Int64

	mu sync.Mutex
	// discovery holds the discovery topics whose latest payload is a
	// config (not a removal).
	discovery map[string]bool
	trackers  []*tracker
	// changed is signalled (coalesced) when a tracker completes.
	changed chan struct{}
}

// What a tracker waits for.
const (
	trackState = iota // any state message of a device
	trackRead         // a state message carrying a read (updated_at set)
	trackAny          // any state message of a device or discovery config, by topic
)

// tracker waits for one message on each of a set of keys (device names
// or topics) after it starts, and notes when the first and the last of
// them arrived.
type tracker struct {
	kind        int
	want        map[string]bool
	got         map[string]bool
	first, last time.Time
}

func (t *tracker) done() bool { return len(t.got) == len(t.want) }

// newScaleObserver builds the observer on paho directly, not on the
// daemon's mqtt.Client: that client hands messages to a bounded queue and
// drops when it is full, while start-up at a thousand cars bursts a
// hundred thousand messages. Stamping on paho's own goroutine keeps every
// message and only slows the broker's delivery to this one subscriber.
func newScaleObserver(url, user, pass, base, prefix string) *scaleObserver {
	o := &scaleObserver{wall: clock.Real(), base: base, prefix: prefix,
		discovery: map[string]bool{}, changed: make(chan struct{}, 1)}
	po := paho.NewClientOptions().AddBroker(url).SetClientID("tesla2mqtt-bench-observer").
		SetUsername(user).SetPassword(pass).SetCleanSession(true).SetOrderMatters(true).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	o.client = paho.NewClient(po)
	return o
}

// start connects and subscribes.
func (o *scaleObserver) start(ctx context.Context) error {
	if err := o.wait(ctx, o.client.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	filters := map[string]byte{o.base + "/#": 1, o.prefix + "/#": 1, o.barrierTopic(): 1}
	return o.wait(ctx, o.client.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) {
		o.handle(m.Topic(), m.Payload())
	}))
}

// wait waits for a paho token, bounded by ctx.
func (o *scaleObserver) wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publish sends one message and waits for its acknowledgement.
func (o *scaleObserver) publish(ctx context.Context, topic, payload string) error {
	return o.wait(ctx, o.client.Publish(topic, 1, false, payload))
}

func (o *scaleObserver) close() { o.client.Disconnect(250) }

// handle stamps one message. The retain flag tells nothing here (a
// broker may keep it set on live deliveries), which is why every run has
// topics of its own on an external broker.
func (o *scaleObserver) handle(topic string, payload []byte) {
	now := o.wall.Now()
	o.msgs.Add(1)
	o.bytes.Add(int64(len(topic) + len(payload)))
	o.mu.Lock()
	defer o.mu.Unlock()
	var name string
	switch {
	case strings.HasPrefix(topic, o.prefix+"/") && strings.HasSuffix(topic, "/config"):
		if len(payload) == 0 {
			delete(o.discovery, topic)
		} else {
			o.discovery[topic] = true
		}
	case strings.HasPrefix(topic, o.base+"/") && topic != o.barrierTopic():
		// A device's state is <base>/<name>, as in zigbee2mqtt.
		name = strings.TrimPrefix(topic, o.base+"/")
		if strings.Contains(name, "/") {
			name = ""
		}
	}
	read := name != "" && !bytes.Contains(payload, []byte(`"updated_at":null`))
	for _, t := range o.trackers {
		key := name
		switch {
		case t.kind == trackAny:
			key = topic
		case t.kind == trackRead && !read:
			continue
		}
		if key == "" || !t.want[key] || t.got[key] {
			continue
		}
		t.got[key] = true
		if t.first.IsZero() {
			t.first = now
		}
		t.last = now
		if t.done() {
			select {
			case o.changed <- struct{}{}:
			default:
			}
		}
	}
}

// track starts a tracker for keys.
func (o *scaleObserver) track(kind int, keys []string) *tracker {
	t := &tracker{kind: kind, want: make(map[string]bool, len(keys)), got: map[string]bool{}}
	for _, k := range keys {
		t.want[k] = true
	}
	o.mu.Lock()
	o.trackers = append(o.trackers, t)
	o.mu.Unlock()
	return t
}

// result stops t and returns when its first and last key arrived and how
// many keys never did.
func (o *scaleObserver) result(t *tracker) (first, last time.Time, missing int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, x := range o.trackers {
		if x == t {
			o.trackers = append(o.trackers[:i:i], o.trackers[i+1:]...)
			break
		}
	}
	return t.first, t.last, len(t.want) - len(t.got)
}

// counts returns the messages and bytes seen so far.
func (o *scaleObserver) counts() (msgs, bytes int64) { return o.msgs.Load(), o.bytes.Load() }

// waitAll returns once every tracker in ts is done, when ctx ends, or after
// limit of wall time (an error naming what was still missing).
func (o *scaleObserver) waitAll(ctx context.Context, limit time.Duration, what string, ts ...*tracker) error {
	timer := o.wall.NewTimer(limit)
	defer timer.Stop()
	for {
		o.mu.Lock()
		missing := 0
		for _, t := range ts {
			missing += len(t.want) - len(t.got)
		}
		o.mu.Unlock()
		if missing == 0 {
			return nil
		}
		select {
		case <-o.changed:
		case <-timer.C():
			m, _ := o.counts()
			return fmt.Errorf("bench scale: %s: %d still missing after %s (%d messages seen)", what, missing, limit, m)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// discoverySnapshot returns the discovery topics currently offered.
func (o *scaleObserver) discoverySnapshot() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.discovery))
	for t := range o.discovery {
		out = append(out, t)
	}
	return out
}

// barrier returns once everything published (and acknowledged) before it
// was called has reached the observer: it publishes a marker to itself,
// and the broker delivers to one subscriber in order.
func (o *scaleObserver) barrier(ctx context.Context, limit time.Duration) error {
	topic := o.barrierTopic()
	t := o.track(trackAny, []string{topic})
	defer o.result(t)
	if err := o.publish(ctx, topic, "sync"); err != nil {
		return err
	}
	return o.waitAll(ctx, limit, "barrier", t)
}

// barrierTopic is outside the bridge's namespace, which the embedded
// broker lets only the bridge write.
func (o *scaleObserver) barrierTopic() string { return o.base + "-bench-barrier" }
