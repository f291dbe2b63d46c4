package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// demoCA stands in for the telemetry server's certificate chain: fleetsim
// plays the cars and the server, and checks only that a chain was sent.
const demoCA = "-----BEGIN CERTIFICATE-----\nZGVtbzogZmxlZXRzaW0gZG9lcyBub3QgY2hlY2sgdGhpcw==\n-----END CERTIFICATE-----\n"

// demoTelemetry is what `demo --telemetry` (and its end-to-end test) wires:
// fleetsim plays the cars and Tesla's fleet-telemetry server with its MQTT
// dispatcher, publishing to the bridge's broker.
type demoTelemetry struct {
	sim    *fleetsim.Sim
	simURL string
	st     *stack
	cfg    *config.Config
	tokens oauth2.TokenSource
	key    *ecdsa.PrivateKey
	out    io.Writer
	log    zerolog.Logger
	// tick drives the stream; each value emits what is due by the sim's
	// clock (nil: every second of wall time).
	tick <-chan time.Time
}

// startDemoTelemetry subscribes the bridge, connects the simulated
// dispatcher to the broker and configures the cars through the real
// `telemetry configure` path (signed with the demo's app key); the stream
// it returns then plays while it runs.
func startDemoTelemetry(ctx context.Context, d demoTelemetry) (*demoStream, error) {
	if !d.cfg.Telemetry.Enabled {
		if err := d.st.bridge.SubscribeTelemetry(nil); err != nil {
			return nil, err
		}
	}
	url := d.cfg.Telemetry.BrokerURL
	switch {
	case url != "":
	case d.st.BrokerAddr != "":
		url = "tcp://" + d.st.BrokerAddr
	default:
		url = d.cfg.MQTT.URL
	}
	pub := mqtt.New(mqtt.Options{URL: url, ClientID: "fleetsim-telemetry", Username: d.cfg.MQTT.Username,
		Password: d.cfg.MQTT.Password, Logger: d.log.With().Str("component", "fleetsim-telemetry").Logger()})
	if err := pub.Connect(ctx); err != nil {
		return nil, fmt.Errorf("simulated telemetry server: %w", err)
	}
	d.sim.SetTelemetrySink(d.cfg.Telemetry.TopicBase, func(topic string, payload []byte) {
		_ = pub.Publish(topic, payload, false)
	})
	stream := &demoStream{d: d, pub: pub}
	api, err := fleet.New(fleet.Options{BaseURL: d.simURL, TokenSource: d.tokens, UserAgent: userAgent(),
		Logger: d.log.With().Str("component", "fleet").Logger()})
	if err != nil {
		stream.stop()
		return nil, err
	}
	cfg := *d.cfg
	cfg.Telemetry.Hostname = "telemetry.fleetsim.invalid"
	fmt.Fprintln(d.out, "Fleet Telemetry (simulated server and dispatcher): tesla2mqtt telemetry configure")
	err = runTelemetry(ctx, "configure", telemetryParams{cfg: &cfg, api: api, out: d.out, now: d.sim.Now,
		key: d.key, ca: demoCA})
	var ee *exitError
	if err != nil && !(errors.As(err, &ee) && ee.code == 1) { // a skipped car is part of the demo
		stream.stop()
		return nil, err
	}
	fmt.Fprintf(d.out, "Watch the stream: mosquitto_sub -t '%s/#' -v\n\n", cfg.Telemetry.TopicBase)
	return stream, nil
}

// demoStream plays the simulated cars' stream on every tick.
type demoStream struct {
	d   demoTelemetry
	pub *mqtt.Client
}

// Run implements component: the stream plays until ctx ends.
func (s *demoStream) Run(ctx context.Context) error {
	defer s.stop()
	tick := s.d.tick
	if tick == nil {
		tick = clock.Tick(ctx, clock.Real(), time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			// One bad tick must not end the stream: report it, tick on.
			func() {
				defer recoverTo(s.d.log, "telemetry demo tick")
				s.d.sim.TelemetryTick()
			}()
		}
	}
}

// stop disconnects the simulated dispatcher.
func (s *demoStream) stop() {
	s.d.sim.SetTelemetrySink("", nil)
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.pub.Close(cctx)
}
