package bridge

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Fleet Telemetry ingest (FLEET_API.md §6.3): Tesla's fleet-telemetry
// server, with its MQTT dispatcher, publishes
//
//	<topic_base>/<VIN>/v/<Field>            one JSON value per signal
//	<topic_base>/<VIN>/connectivity         {"ConnectionId","Status":"CONNECTED|DISCONNECTED","CreatedAt"}
//	<topic_base>/<VIN>/alerts/<name>/current|history
//	<topic_base>/<VIN>/errors/<name>
//
// Signals land in the car's vehicle_data blocks through the table rows'
// Telemetry fields, so streamed and polled values merge per field: a poll
// replaces whole blocks with what the car said at that moment, a later
// datum overwrites its one field; the newest wins either way. Values are
// taken in the units the rows already use (miles, mph, °C, bar, kW, kWh,
// hours, minutes), which is what the car streams whatever its display
// units (as HA's Teslemetry integration reads the same signals); enums
// ("DetailedChargeStateCharging", "ShiftStateD") become vehicle_data's
// words. Retained messages are ignored: their age is unknown, and the
// start-up poll fills the car anyway.

// Defaults of TelemetryOptions.
const (
	DefaultTelemetryTopicBase = "telemetry"
	DefaultTelemetryQuiet     = 10 * time.Minute
)

// TelemetryOptions configure the Fleet Telemetry ingest.
type TelemetryOptions struct {
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

// Subscriber is what the ingest needs of an MQTT client: the bridge's own
// Publisher, or a client on the broker the telemetry server publishes to.
type Subscriber interface {
	Subscribe(topic string, h mqtt.Handler) error
}

// StreamState is what the stream said of a car. Guarded by Bridge.mu.
type StreamState struct {
	// At is when the last datum was applied to the car's data.
	At time.Time
	// Signal is when the stream last said anything live about the car.
	Signal time.Time
	// Disconnected: the car's last connectivity record was DISCONNECTED.
	Disconnected bool
}

func (s StreamState) alive(now time.Time, quiet time.Duration) bool {
	return !s.Signal.IsZero() && !s.Disconnected && now.Sub(s.Signal) < quiet
}

// sourceKeys are the state JSON's data_source ("telemetry" or "poll":
// which one updated the car's data last) and telemetry_at (the last datum).
func (v *VehicleView) sourceKeys() (source, at any) {
	if !v.Stream.At.IsZero() {
		at = v.Stream.At.UTC().Format(time.RFC3339)
		if !v.LastSeen.After(v.Stream.At) {
			return "telemetry", at
		}
	}
	if !v.LastSeen.IsZero() {
		return "poll", at
	}
	return nil, at
}

func (b *Bridge) telemetryBase() string {
	if b.opts.Telemetry.TopicBase != "" {
		return strings.TrimRight(b.opts.Telemetry.TopicBase, "/")
	}
	return DefaultTelemetryTopicBase
}

func (b *Bridge) telemetryQuiet() time.Duration {
	if b.opts.Telemetry.Quiet > 0 {
		return b.opts.Telemetry.Quiet
	}
	return DefaultTelemetryQuiet
}

// SubscribeTelemetry starts the ingest on sub (nil: the bridge's own
// broker connection) and schedules the safety read. Call it before Run.
func (b *Bridge) SubscribeTelemetry(sub Subscriber) error {
	if sub == nil {
		sub = b.pub
	}
	base := b.telemetryBase()
	for _, f := range []string{base + "/+/v/+", base + "/+/connectivity", base + "/+/alerts/#", base + "/+/errors/#"} {
		if err := sub.Subscribe(f, b.handleTelemetry); err != nil {
			return fmt.Errorf("telemetry: subscribe %s: %w", f, err)
		}
	}
	if spec := b.opts.Telemetry.SafetyRead; spec != "" {
		job := func() { b.guard("telemetry_safety_read", b.safetyRead) }
		if err := b.opts.Scheduler.Add("telemetry_safety_read", spec, job); err != nil {
			return err
		}
	}
	return nil
}

// StreamAlive reports whether the car's stream said something within
// TelemetryOptions.Quiet (and not that the car disconnected): while it
// does, regular vehicle_data polling of the car is pointless. Must not be
// called with b.mu held (streamAliveLocked is for that).
func (b *Bridge) StreamAlive(vin string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.streamAliveLocked(b.byUID[vin])
}

func (b *Bridge) streamAliveLocked(d *device) bool {
	if d == nil || d.vehicle == nil {
		return false
	}
	return d.vehicle.Stream.alive(b.now(), b.telemetryQuiet())
}

// handleTelemetry routes one dispatcher message.
func (b *Bridge) handleTelemetry(m mqtt.Message) {
	rest, ok := strings.CutPrefix(m.Topic, b.telemetryBase()+"/")
	if !ok || m.Retained {
		return
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" {
		return
	}
	vin, kind := parts[0], parts[1]
	now := b.now()
	switch {
	case kind == "v" && len(parts) == 3:
		b.ingestDatum(vin, parts[2], m.Payload, now)
	case kind == "connectivity" && len(parts) == 2:
		b.ingestConnectivity(vin, m.Payload, now)
	case (kind == "alerts" || kind == "errors") && len(parts) == 3:
		b.ingestEvent(vin, kind, parts[2], m.Payload, now)
	}
}

// ingestDatum applies one signal to every row it feeds and publishes the
// car. Every datum is metered: Tesla bills it whether or not a row maps it.
func (b *Bridge) ingestDatum(vin, field string, payload []byte, now time.Time) {
	if r := b.opts.Telemetry.Streaming; r != nil {
		r.Record(fleet.Request{Endpoint: fleet.CallTelemetrySignal, Category: fleet.CategoryStreaming,
			Status: 200, Device: vin, At: now})
	}
	val, err := decodeTelemetryValue(payload)
	if err != nil {
		b.log.Debug().Str("vin", vin).Str("field", field).Msg("telemetry value is not JSON; ignored")
		return
	}
	b.mu.Lock()
	d := b.byUID[vin]
	if d == nil || d.vehicle == nil {
		b.mu.Unlock()
		return
	}
	applied, unreadable := false, false
	for _, e := range d.entities {
		if e.telemetry.field != field {
			continue
		}
		if e.telemetry.apply(val) {
			applied = true
		} else {
			unreadable = true
		}
	}
	v := d.vehicle
	v.Stream.Signal, v.Stream.Disconnected = now, false
	// A car that streams is awake, whatever the last connectivity check said.
	woke := v.State != fleet.StateOnline
	v.State = fleet.StateOnline
	if applied {
		v.Stream.At, d.updatedAt = now, now
	}
	b.mu.Unlock()
	if unreadable {
		b.log.Debug().Str("device", d.name).Str("field", field).Str("value", clip(string(payload), 80)).
			Msg("telemetry value of an unexpected type; the entity keeps its last value")
	}
	if applied || woke {
		b.publishState(d, false)
	}
}

// ingestConnectivity makes CONNECTED and DISCONNECTED the car's Fleet state:
// a car connects when it wakes and drops the connection when it falls
// asleep. (A car that lost its network also disconnects; the connectivity
// check corrects asleep to offline then.)
func (b *Bridge) ingestConnectivity(vin string, payload []byte, now time.Time) {
	var rec struct {
		Status string `json:"Status"`
	}
	if err := json.Unmarshal(payload, &rec); err != nil {
		return
	}
	b.mu.Lock()
	d := b.byUID[vin]
	if d == nil || d.vehicle == nil {
		b.mu.Unlock()
		return
	}
	v := d.vehicle
	state := v.State
	switch strings.ToUpper(rec.Status) {
	case "CONNECTED":
		v.Stream.Signal, v.Stream.Disconnected = now, false
		state = fleet.StateOnline
	case "DISCONNECTED":
		v.Stream.Disconnected = true
		state = fleet.StateAsleep
	default:
		b.mu.Unlock()
		return
	}
	changed := v.State != state
	v.State = state
	b.mu.Unlock()
	if changed {
		b.log.Info().Str("device", d.name).Str("state", state).Msg("fleet state changed (telemetry connectivity)")
		b.publishState(d, false)
	}
}

// ingestEvent logs the car's alerts and streaming errors; they prove the
// stream alive but feed no entity.
func (b *Bridge) ingestEvent(vin, kind, name string, payload []byte, now time.Time) {
	b.mu.Lock()
	d := b.byUID[vin]
	if d != nil && d.vehicle != nil {
		d.vehicle.Stream.Signal, d.vehicle.Stream.Disconnected = now, false
	}
	b.mu.Unlock()
	if d == nil {
		return
	}
	ev := b.log.Info()
	if kind == "errors" {
		ev = b.log.Warn()
	}
	ev.Str("device", d.name).Str(strings.TrimSuffix(kind, "s"), name).Str("payload", clip(string(payload), 200)).
		Msg("telemetry " + strings.TrimSuffix(kind, "s"))
}

// safetyRead is the slow vehicle_data read of cars whose stream is alive:
// the regular schedules leave them alone, but some fields exist only in
// vehicle_data and a stream that silently lost a field should not hide it
// for ever.
func (b *Bridge) safetyRead() {
	b.mu.Lock()
	ctx := b.ctx
	b.mu.Unlock()
	for _, d := range b.sortedDevices() {
		if d.kind != kindVehicle {
			continue
		}
		b.mu.Lock()
		read := d.vehicle.State == fleet.StateOnline && b.streamAliveLocked(d)
		b.mu.Unlock()
		if read {
			b.pollVehicle(ctx, d)
		}
	}
}

// TelemetryFields lists the signals the car table maps, sorted: what
// `telemetry configure` asks the cars to stream.
func TelemetryFields() []string {
	set := map[string]bool{}
	for _, r := range vehicleRows() {
		if r.Telemetry.Field != "" {
			set[r.Telemetry.Field] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
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
