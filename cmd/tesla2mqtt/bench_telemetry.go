package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/config"
)

// runBridgeTelemetryDay replays the reference day under the default policy
// with Fleet Telemetry on (preset balanced): `telemetry configure` signs
// the config for the car, fleetsim streams it in the dispatcher's format
// into the bridge's ingest, and every datum is metered as a streaming
// signal. Staleness counts a streamed value as fresh while the bridge's
// value is within the signal's minimum delta of the car's (the car sends
// nothing while a value does not move), or since its last datum otherwise.
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
	cfg.Telemetry.Enabled, cfg.Telemetry.Hostname = true, "telemetry.bench.invalid"
	var report strings.Builder
	err = runTelemetry(ctx, "configure", telemetryParams{cfg: &cfg, api: e.client, vins: []string{benchVIN},
		out: &report, now: e.clock.Now, key: key, ca: demoCA})
	if err != nil {
		return nil, fmt.Errorf("telemetry configure: %w\n%s", err, report.String())
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
	if err := b.SubscribeTelemetry(nil); err != nil {
		return nil, err
	}
	// The stream reaches the bridge as the dispatcher would publish it.
	var lastBat float64 = math.NaN()
	var lastLoc [2]float64
	e.sim.SetTelemetrySink(cfg.Telemetry.TopicBase, func(topic string, payload []byte) {
		var m struct {
			Value any `json:"value"`
		}
		_ = json.Unmarshal(payload, &m)
		now := e.clock.Now()
		switch {
		case strings.HasSuffix(topic, "/v/BatteryLevel"):
			if f, ok := m.Value.(float64); ok {
				lastBat = f
			}
			e.mu.Lock()
			e.lastBat = now
			e.mu.Unlock()
		case strings.HasSuffix(topic, "/v/Location"):
			if l, ok := m.Value.(map[string]any); ok {
				lastLoc = [2]float64{l["latitude"].(float64), l["longitude"].(float64)}
			}
			e.mu.Lock()
			e.lastLoc = now
			e.mu.Unlock()
		}
		if _, field, ok := strings.Cut(topic, "/v/"); ok {
			e.mu.Lock()
			e.signals[field]++
			e.mu.Unlock()
		}
		pub.Send(topic, string(payload))
	})
	// The battery level counts as fresh while within its configured
	// minimum delta of the car's, as the car sends nothing smaller.
	batDelta := 0.0
	if c := e.sim.TelemetryConfig(benchVIN); c != nil && c.Fields["BatteryLevel"].MinimumDelta != nil {
		batDelta = *c.Fields["BatteryLevel"].MinimumDelta
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
		// The stream runs before the jobs that fall on the same step: a car
		// connects to its telemetry server within seconds of waking, and a
		// connectivity check lands at any second of its minute. The script's
		// events and the checks both fall on whole minutes, so the other
		// order had every wake seen by a check before the stream, a
		// vehicle_data read ($0.002) each that a real day mostly would not
		// pay.
		e.sim.TelemetryTick()
		sched.RunDue(now)
		if !b.StreamAlive(benchVIN) {
			return
		}
		snap := e.sim.Snapshot(benchVIN)
		e.mu.Lock()
		if math.Abs(snap.BatteryLevel-lastBat) < batDelta {
			e.lastBat = now
		}
		if snap.Latitude == lastLoc[0] && snap.Longitude == lastLoc[1] {
			e.lastLoc = now
		}
		e.mu.Unlock()
	}
	return e, e.loop(step, e.sender(&cfg, pub))
}
