package teslamate

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Publisher publishes one message; the bridge's MQTT client.
type Publisher interface {
	Publish(topic string, payload []byte, retained bool) error
}

// Options configure the TeslaMate topics.
type Options struct {
	// Prefix is the topic prefix ("teslamate" by default).
	Prefix string
	// VINs are the configured cars, in the config's order: car ids follow
	// it, then the other cars by arrival, starting at 1 as in TeslaMate.
	VINs      []string
	Publisher Publisher
	// Clock dates each car's "since" (default: the wall clock).
	Clock  clock.Clock
	Logger zerolog.Logger
}

// Topics is the hook that publishes the TeslaMate topics.
type Topics struct {
	contract.HookBase
	opts Options

	mu    sync.Mutex
	ids   map[string]int    // VIN → car id; an id once given never changes
	last  map[string]string // topic → last payload
	since map[string]since  // VIN → state and when it began
}

type since struct {
	state string
	at    time.Time
}

// New returns the hook; add it to bridge.Options.Hooks.
func New(opts Options) *Topics {
	if opts.Prefix == "" {
		opts.Prefix = "teslamate"
	}
	opts.Prefix = strings.TrimRight(opts.Prefix, "/")
	opts.Clock = clock.OrReal(opts.Clock)
	return &Topics{opts: opts, ids: map[string]int{}, last: map[string]string{}, since: map[string]since{}}
}

var _ contract.Hook = (*Topics)(nil)

// OnState implements contract.Hook: it publishes the car's topics whose value
// changed, or all of them when the bridge republishes (after a reconnect).
func (t *Topics) OnState(e contract.StateEvent) {
	if e.Vehicle == nil {
		return
	}
	values := Values(e.Vehicle)
	values["healthy"] = strconv.FormatBool(e.LastError == "")
	vin := e.UID

	t.mu.Lock()
	id := t.id(vin)
	if rec, ok := t.since[vin]; !ok || rec.state != values["state"] {
		t.since[vin] = since{state: values["state"], at: t.opts.Clock.Now()}
	}
	values["since"] = t.since[vin].at.UTC().Format(time.RFC3339)
	base := t.opts.Prefix + "/cars/" + strconv.Itoa(id) + "/"
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type msg struct{ topic, payload string }
	var out []msg
	for _, k := range keys {
		topic := base + k
		if !e.Force && t.last[topic] == values[k] {
			continue
		}
		t.last[topic] = values[k]
		out = append(out, msg{topic, values[k]})
	}
	t.mu.Unlock()
	for _, m := range out {
		if err := t.opts.Publisher.Publish(m.topic, []byte(m.payload), true); err != nil {
			t.opts.Logger.Debug().Err(err).Str("topic", m.topic).Msg("publish failed; will republish on reconnect")
		}
	}
}

// id returns the car id of a VIN, assigning the next free one. Callers
// hold t.mu.
func (t *Topics) id(vin string) int {
	if id, ok := t.ids[vin]; ok {
		return id
	}
	id := len(t.ids) + 1
	for i, v := range t.opts.VINs {
		if v == vin {
			id = i + 1
		}
	}
	taken := make([]int, 0, len(t.ids))
	for _, id := range t.ids {
		taken = append(taken, id)
	}
	for slices.Contains(taken, id) {
		id++
	}
	t.ids[vin] = id
	return id
}
