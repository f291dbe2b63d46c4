package telemetry

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Defaults of Options.
const (
	DefaultTopicBase = "telemetry"
	DefaultQuiet     = 10 * time.Minute
)

// Options configure the Fleet Telemetry ingest.
type Options struct {
	// TopicBase is the dispatcher's topic_base (default "telemetry").
	TopicBase string
	// Quiet: a car the stream has said nothing about for this long counts
	// as not streaming, and the economy policy polls it again (default 10 min).
	Quiet time.Duration
	// SafetyRead is the cron spec of the one vehicle_data read a streaming
	// car still gets (fields telemetry lacks, a check on the stream); "" = none.
	SafetyRead string
	// Streaming meters every received datum as a streaming signal.
	Streaming fleet.Recorder
}

// Base is the topic base in use.
func (o Options) Base() string {
	if o.TopicBase != "" {
		return strings.TrimRight(o.TopicBase, "/")
	}
	return DefaultTopicBase
}

// QuietAfter is the quiet period in use.
func (o Options) QuietAfter() time.Duration {
	if o.Quiet > 0 {
		return o.Quiet
	}
	return DefaultQuiet
}

// Subscriber is what the ingest needs of an MQTT client: the bridge's own
// Publisher, or a client on the broker the telemetry server publishes to.
type Subscriber interface {
	Subscribe(topic string, h mqtt.Handler) error
}

// Sink is what the stream changes: the bridge's cars. Each method reports
// the device it reached ("" for a VIN the bridge does not serve), so the
// ingest can say what happened.
type Sink interface {
	// Datum applies one signal to every row of the car it feeds; applied
	// and unreadable say whether some row took the value and some could not
	// read it.
	Datum(vin, field string, v entity.TelemetryValue, now time.Time) (device string, applied, unreadable bool)
	// Connectivity makes CONNECTED and DISCONNECTED the car's Fleet state;
	// changed says whether the state changed.
	Connectivity(vin string, connected bool, now time.Time) (device, state string, changed bool)
	// Alive records that the stream said something live about the car.
	Alive(vin string, now time.Time) (device string)
}

// Ingest reads Tesla's fleet-telemetry dispatcher topics into the sink.
type Ingest struct {
	opts  Options
	sink  Sink
	clock clock.Clock
	log   zerolog.Logger
}

// New returns an ingest into sink; nothing is read until Subscribe.
func New(opts Options, sink Sink, clk clock.Clock, log zerolog.Logger) *Ingest {
	return &Ingest{opts: opts, sink: sink, clock: clock.OrReal(clk), log: log}
}

// Subscribe starts the ingest on sub.
func (in *Ingest) Subscribe(sub Subscriber) error {
	base := in.opts.Base()
	for _, f := range []string{base + "/+/v/+", base + "/+/connectivity", base + "/+/alerts/#", base + "/+/errors/#"} {
		if err := sub.Subscribe(f, in.handle); err != nil {
			return fmt.Errorf("telemetry: subscribe %s: %w", f, err)
		}
	}
	return nil
}

// handle routes one dispatcher message.
func (in *Ingest) handle(m mqtt.Message) {
	rest, ok := strings.CutPrefix(m.Topic, in.opts.Base()+"/")
	if !ok || m.Retained || m.Dropped {
		return
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" {
		return
	}
	vin, kind := parts[0], parts[1]
	now := in.clock.Now()
	switch {
	case kind == "v" && len(parts) == 3:
		in.datum(vin, parts[2], m.Payload, now)
	case kind == "connectivity" && len(parts) == 2:
		in.connectivity(vin, m.Payload, now)
	case (kind == "alerts" || kind == "errors") && len(parts) == 3:
		in.event(vin, kind, parts[2], m.Payload, now)
	}
}

// datum applies one signal to every row it feeds. Every datum is metered:
// Tesla bills it whether or not a row maps it.
func (in *Ingest) datum(vin, field string, payload []byte, now time.Time) {
	if r := in.opts.Streaming; r != nil {
		r.Record(fleet.Request{Endpoint: fleet.CallTelemetrySignal, Category: fleet.CategoryStreaming,
			Status: 200, Device: vin, At: now})
	}
	val, err := entity.DecodeTelemetryValue(payload)
	if err != nil {
		in.log.Debug().Str("vin", vin).Str("field", field).Msg("telemetry value is not JSON; ignored")
		return
	}
	device, _, unreadable := in.sink.Datum(vin, field, val, now)
	if device != "" && unreadable {
		in.log.Debug().Str("device", device).Str("field", field).Str("value", clip(string(payload), 80)).
			Msg("telemetry value of an unexpected type; the entity keeps its last value")
	}
}

// connectivity reads a connectivity record: a car connects when it wakes
// and drops the connection when it falls asleep. (A car that lost its
// network also disconnects; the connectivity check corrects asleep to
// offline then.)
func (in *Ingest) connectivity(vin string, payload []byte, now time.Time) {
	var rec struct {
		Status string `json:"Status"`
	}
	if err := json.Unmarshal(payload, &rec); err != nil {
		return
	}
	var connected bool
	switch strings.ToUpper(rec.Status) {
	case "CONNECTED":
		connected = true
	case "DISCONNECTED":
	default:
		return
	}
	if device, state, changed := in.sink.Connectivity(vin, connected, now); changed {
		in.log.Info().Str("device", device).Str("state", state).Msg("fleet state changed (telemetry connectivity)")
	}
}

// event logs the car's alerts and streaming errors; they prove the stream
// alive but feed no entity.
func (in *Ingest) event(vin, kind, name string, payload []byte, now time.Time) {
	device := in.sink.Alive(vin, now)
	if device == "" {
		return
	}
	ev := in.log.Info()
	if kind == "errors" {
		ev = in.log.Warn()
	}
	ev.Str("device", device).Str(strings.TrimSuffix(kind, "s"), name).Str("payload", clip(string(payload), 200)).
		Msg("telemetry " + strings.TrimSuffix(kind, "s"))
}

// clip shortens s to n bytes on a rune boundary, for log lines.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
