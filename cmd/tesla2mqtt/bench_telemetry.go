package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/mqtttest"
)

// runBridgeTelemetryDay replays the reference day under the default policy
// with Fleet Telemetry on (preset balanced): `telemetry configure` signs
// the config for the car, fleetsim streams it in the dispatcher's format
// into the bridge's ingest, and every datum is metered as a streaming
// signal.
func runBridgeTelemetryDay(ctx context.Context) (_ *benchEnv, err error) {
	e, err := newBenchEnv()
	if err != nil {
		return nil, err
	}
	key, err := e.pairAppKey()
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	if err := e.configureStream(ctx, &cfg, key); err != nil {
		return nil, err
	}
	opts, sched, err := e.bridgeOptions(&cfg)
	if err != nil {
		return nil, err
	}
	opts.Telemetry = telemetryOptions(&cfg, e)
	pub := newBenchPub()
	b, err := bridge.New(opts, e.client, pub)
	if err != nil {
		return nil, err
	}
	s, err := e.attachStream(b, &cfg, pub)
	if err != nil {
		return nil, err
	}
	stop, err := runBenchBridge(ctx, b, sched)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := stop(); err == nil {
			err = rerr
		}
	}()
	step := func(now time.Time) {
		s.tick()
		sched.RunDue(now)
		s.sample(now)
	}
	return e, e.loop(step, e.sender(&cfg, pub))
}

// configureStream turns [telemetry] on in cfg and has `telemetry
// configure` sign the preset's config for the car, as a user would.
func (e *benchEnv) configureStream(ctx context.Context, cfg *config.Config, key *ecdsa.PrivateKey) error {
	cfg.Telemetry.Enabled, cfg.Telemetry.Hostname = true, "telemetry.bench.invalid"
	var report strings.Builder
	err := runTelemetry(ctx, "configure", telemetryParams{cfg: cfg, api: e.client, vins: []string{benchVIN},
		out: &report, now: e.clock.Now, key: key, ca: demoCA})
	if err != nil {
		return fmt.Errorf("telemetry configure: %w\n%s", err, report.String())
	}
	return nil
}

// benchStream is a replay's Fleet Telemetry stream into the bridge.
// Staleness counts a streamed value as fresh while the bridge's value is
// within the signal's minimum delta of the car's (the car sends nothing
// while a value does not move), or since its last datum otherwise.
type benchStream struct {
	e        *benchEnv
	b        *bridge.Bridge
	lastBat  float64
	lastLoc  [2]float64
	batDelta float64
}

// attachStream subscribes the bridge to the stream and has the simulator
// deliver it as the dispatcher would publish it, counting each datum as a
// signal.
func (e *benchEnv) attachStream(b *bridge.Bridge, cfg *config.Config, pub *mqtttest.Router) (*benchStream, error) {
	if err := b.SubscribeTelemetry(nil); err != nil {
		return nil, err
	}
	s := &benchStream{e: e, b: b, lastBat: math.NaN()}
	// The battery level counts as fresh while within its configured
	// minimum delta of the car's, as the car sends nothing smaller.
	if c := e.sim.TelemetryConfig(benchVIN); c != nil && c.Fields["BatteryLevel"].MinimumDelta != nil {
		s.batDelta = *c.Fields["BatteryLevel"].MinimumDelta
	}
	e.sim.SetTelemetrySink(cfg.Telemetry.TopicBase, func(topic string, payload []byte) {
		s.datum(topic, payload)
		pub.Send(topic, string(payload))
	})
	return s, nil
}

// datum notes what one streamed datum brought.
func (s *benchStream) datum(topic string, payload []byte) {
	var m struct {
		Value any `json:"value"`
	}
	_ = json.Unmarshal(payload, &m)
	e := s.e
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case strings.HasSuffix(topic, "/v/BatteryLevel"):
		if f, ok := m.Value.(float64); ok {
			s.lastBat = f
		}
		e.lastBat = now
	case strings.HasSuffix(topic, "/v/Location"):
		if l, ok := m.Value.(map[string]any); ok {
			s.lastLoc = [2]float64{l["latitude"].(float64), l["longitude"].(float64)}
		}
		e.lastLoc = now
	}
	if _, field, ok := strings.Cut(topic, "/v/"); ok {
		e.signals[field]++
	}
}

// tick lets the car stream. It runs before the jobs that fall on the same
// step: a car connects to its telemetry server within seconds of waking,
// and a connectivity check lands at any second of its minute. The
// script's events and the checks both fall on whole minutes, so the other
// order had every wake seen by a check before the stream, a vehicle_data
// read ($0.002) each that a real day mostly would not pay.
func (s *benchStream) tick() { s.e.sim.TelemetryTick() }

// sample counts the streamed values as fresh while the car has nothing
// new to send, after the step's jobs.
func (s *benchStream) sample(now time.Time) {
	if !s.b.StreamAlive(benchVIN) {
		return
	}
	snap := s.e.sim.Snapshot(benchVIN)
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if math.Abs(snap.BatteryLevel-s.lastBat) < s.batDelta {
		s.e.lastBat = now
	}
	if snap.Latitude == s.lastLoc[0] && snap.Longitude == s.lastLoc[1] {
		s.e.lastLoc = now
	}
}
