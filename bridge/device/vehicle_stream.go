package device

import (
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/telemetry"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// StreamAlive reports whether the car's stream said something within
// telemetry.Options.Quiet (and not that the car disconnected): while it
// does, regular vehicle_data polling of the car is pointless.
func (r *Registry) StreamAlive(vin string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.carFamily().byVIN(vin)
	return c != nil && r.carFamily().streamAliveLocked(c)
}

// streamAliveLocked is StreamAlive for callers that hold r.mu.
func (cs *cars) streamAliveLocked(c *car) bool {
	return c.v.Stream.Alive(cs.r.now(), cs.r.opts.Telemetry.QuietAfter())
}

// The cars are where the stream lands.
var _ telemetry.Sink = (*cars)(nil)

// Datum implements telemetry.Sink: the signal lands in the car's data
// through every row it feeds, and a car that streams is awake, whatever
// the last connectivity check said.
func (cs *cars) Datum(vin, field string, val entity.TelemetryValue, now time.Time) (string, bool, bool) {
	r := cs.r
	r.mu.Lock()
	c := cs.byVIN(vin)
	if c == nil {
		r.mu.Unlock()
		return "", false, false
	}
	applied, unreadable := false, false
	for _, e := range c.d.rows {
		if e.Signal() != field {
			continue
		}
		if e.ApplySignal(c.v, val) {
			applied = true
		} else {
			unreadable = true
		}
	}
	v := c.v
	v.Stream.Signal, v.Stream.Disconnected = now, false
	woke := v.State != fleet.StateOnline
	v.State = fleet.StateOnline
	if applied {
		v.Stream.At, c.d.updatedAt = now, now
	}
	r.mu.Unlock()
	if applied || woke {
		r.host.State(c.d, false)
	}
	return c.d.name, applied, unreadable
}

// Connectivity implements telemetry.Sink: a car connects when it wakes
// and drops the connection when it falls asleep.
func (cs *cars) Connectivity(vin string, connected bool, now time.Time) (string, string, bool) {
	r := cs.r
	r.mu.Lock()
	c := cs.byVIN(vin)
	if c == nil {
		r.mu.Unlock()
		return "", "", false
	}
	v := c.v
	state := fleet.StateAsleep
	if connected {
		v.Stream.Signal, v.Stream.Disconnected = now, false
		state = fleet.StateOnline
	} else {
		v.Stream.Disconnected = true
	}
	changed := v.State != state
	v.State = state
	r.mu.Unlock()
	if changed {
		r.host.State(c.d, false)
	}
	return c.d.name, state, changed
}

// Alive implements telemetry.Sink.
func (cs *cars) Alive(vin string, now time.Time) string {
	r := cs.r
	r.mu.Lock()
	defer r.mu.Unlock()
	c := cs.byVIN(vin)
	if c == nil {
		return ""
	}
	c.v.Stream.Signal, c.v.Stream.Disconnected = now, false
	return c.d.name
}
