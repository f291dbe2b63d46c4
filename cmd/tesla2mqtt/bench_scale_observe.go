package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// scaleObserver is the bench's own MQTT client, subscribed to everything
// under the bridge's base topic and discovery prefix: every number the
// bench reports about publishing is what a subscriber saw arrive, so it
// stays true whatever the bridge does inside.
type scaleObserver struct {
	client *mqtt.Client
	wall   clock.Clock
	base   string
	prefix string

	msgs, bytes atomic.Int64
	// dropped counts messages the observer's inbound queue lost; a run
	// with drops under-reports and says so.
	dropped atomic.Int64

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

// observerQueue is the observer's inbound queue: start-up discovery of a
// thousand cars arrives faster than any handler is scheduled, and the
// handler only stamps times, so a deep queue is all it takes not to drop.
const observerQueue = 1 << 16

func newScaleObserver(url, user, pass, base, prefix string) *scaleObserver {
	o := &scaleObserver{wall: clock.Real(), base: base, prefix: prefix,
		discovery: map[string]bool{}, changed: make(chan struct{}, 1)}
	log := zerolog.New(nil).Level(zerolog.WarnLevel).Hook(zerolog.HookFunc(func(_ *zerolog.Event, level zerolog.Level, msg string) {
		if level == zerolog.WarnLevel && strings.Contains(msg, "dropped") {
			o.dropped.Add(1)
		}
	}))
	o.client = mqtt.New(mqtt.Options{URL: url, ClientID: "tesla2mqtt-bench-observer", Username: user, Password: pass,
		QueueSize: observerQueue, Logger: log})
	return o
}

// start subscribes and connects.
func (o *scaleObserver) start(ctx context.Context) error {
	for _, f := range []string{o.base + "/#", o.prefix + "/#", o.barrierTopic()} {
		if err := o.client.Subscribe(f, o.handle); err != nil {
			return err
		}
	}
	return o.client.Connect(ctx)
}

func (o *scaleObserver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = o.client.Close(ctx)
}

// handle stamps one message. The retain flag tells nothing here (a
// broker may keep it set on live deliveries), which is why every run has
// topics of its own on an external broker.
func (o *scaleObserver) handle(m mqtt.Message) {
	now := o.wall.Now()
	o.msgs.Add(1)
	o.bytes.Add(int64(len(m.Topic) + len(m.Payload)))
	o.mu.Lock()
	defer o.mu.Unlock()
	var name string
	switch {
	case strings.HasPrefix(m.Topic, o.prefix+"/") && strings.HasSuffix(m.Topic, "/config"):
		if len(m.Payload) == 0 {
			delete(o.discovery, m.Topic)
		} else {
			o.discovery[m.Topic] = true
		}
	case strings.HasPrefix(m.Topic, o.base+"/") && m.Topic != o.barrierTopic():
		// A device's state is <base>/<name>, as in zigbee2mqtt.
		name = strings.TrimPrefix(m.Topic, o.base+"/")
		if strings.Contains(name, "/") {
			name = ""
		}
	}
	read := name != "" && !bytes.Contains(m.Payload, []byte(`"updated_at":null`))
	for _, t := range o.trackers {
		key := name
		switch {
		case t.kind == trackAny:
			key = m.Topic
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
	if err := o.client.Publish(topic, []byte("sync"), false); err != nil {
		return err
	}
	return o.waitAll(ctx, limit, "barrier", t)
}

// barrierTopic is outside the bridge's namespace, which the embedded
// broker lets only the bridge write.
func (o *scaleObserver) barrierTopic() string { return o.base + "-bench-barrier" }
