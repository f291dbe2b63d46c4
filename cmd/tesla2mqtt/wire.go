package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/metrics"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/sharding"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/teslamate"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// component is a long-lived part of the running daemon: it runs until ctx
// ends and returns once it has stopped.
type component interface {
	Run(ctx context.Context) error
}

// stack is everything a running bridge consists of, so that the shutdown
// order lives in one place.
type stack struct {
	broker    *broker.Broker
	mqtt      *mqtt.Client
	bridge    *bridge.Bridge
	commander *fleet.Commander
	meter     *fleet.Meter
	// budget meters the month; the status page charts its days.
	budget *economy.Budget
	// parts run beside the bridge under run's errgroup: the token watcher,
	// a second broker connection for telemetry, the HTTP server, the
	// demo's stream.
	parts []component
	// metrics are the Prometheus collectors; startAddons serves them.
	metrics *metrics.Metrics
	// ble are the Bluetooth sessions of the cars with [vehicle.ble]; their
	// Run is among parts.
	ble *bleWiring
	// BrokerAddr is the embedded broker's address ("" with an external broker).
	BrokerAddr string
	// StatusURL is the status page's address ("" when the HTTP server is off).
	StatusURL string
	// clientID is the bridge's MQTT client id (with its suffix, if any).
	clientID string
	// stopConnect ends the retries of a first MQTT connection that failed.
	stopConnect func()
	// forget clears the bridge's retained topics at shutdown (the demo on
	// a user's broker).
	forget bool
}

// wiring is what differs between `run` and `demo`.
type wiring struct {
	tokens    oauth2.TokenSource
	baseURL   string
	scheduler schedule.Scheduler
	scopes    func() []string
	// clock is the time of the Fleet client, the budget and the bridge
	// (nil: the wall clock). Tests pass a clock.Manual. The MQTT client
	// always runs on the wall clock, as paho does.
	clock clock.Clock
	// reconnect caps the MQTT client's reconnect back-off (0: the default
	// 30 s). Tests that restart the broker many times a second set it low.
	reconnect time.Duration
	// signingKey, when set, replaces tesla.private_key_file (demo: a key
	// made for the run); its sessions then stay in memory.
	signingKey *ecdsa.PrivateKey
	// bleRadio, when set, replaces the host's Bluetooth adapter for the
	// cars of [vehicle.ble] (demo and tests: the simulator's radio).
	bleRadio fleet.BLERadio
	// hooks are added to the bridge's own (a test that runs several
	// instances tells by them which one published what).
	hooks []contract.Hook
}

// startStack starts the embedded broker (when no external broker is
// configured), the MQTT client and the bridge. The caller runs the bridge
// and then calls shutdown.
func startStack(ctx context.Context, cfg *config.Config, w wiring, log zerolog.Logger) (*stack, error) {
	s := &stack{meter: fleet.NewMeter(), metrics: metrics.New(budgetOptions(cfg, w).Prices)}
	url := cfg.MQTT.URL
	mqttUser, mqttPass := cfg.MQTT.Username, cfg.MQTT.Password
	if url == "" {
		bo := embeddedBrokerOptions(cfg, log)
		mqttUser, mqttPass = bo.Bridge.Username, bo.Bridge.Password
		s.broker = broker.New(bo)
		if err := s.broker.Start(); err != nil {
			if errors.Is(err, broker.ErrAddrInUse) {
				return nil, &exitError{code: 2, err: err}
			}
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		s.BrokerAddr = s.broker.Addr()
		url = "tcp://" + s.BrokerAddr
	}
	timeout, err := time.ParseDuration(cfg.Tesla.Timeout)
	if err != nil {
		timeout = 30 * time.Second
	}
	// The budget sees every response, whoever made it: polls, commands,
	// wakes, the fresh read after a command.
	budget, err := economy.NewBudget(budgetOptions(cfg, w))
	s.budget = budget
	if err != nil {
		log.Warn().Err(err).Msg("budget counters not loaded")
	}
	api, err := fleet.New(fleet.Options{
		BaseURL:     w.baseURL,
		TokenSource: w.tokens,
		Timeout:     timeout,
		Recorder:    fleet.MultiRecorder{s.meter, s.metrics, budget},
		UserAgent:   userAgent(),
		Clock:       w.clock,
		Logger:      log.With().Str("component", "fleet").Logger(),
	})
	if err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	// Commands sent through a command proxy are billed like the rest, so
	// the proxy's client records to the same meter, metrics and budget.
	key, err := signingKey(cfg, w)
	if err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	s.commander, err = newCommander(cfg, w, key, api, fleet.MultiRecorder{s.meter, s.metrics, budget})
	if err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	if s.ble, err = startBLE(cfg, w, key, log); err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	s.parts = append(s.parts, s.ble.parts...)
	base := cfg.MQTT.BaseTopic
	s.clientID = clientID(cfg.MQTT.ClientID, cfg.MQTT.URL != "" && cfg.MQTT.ClientIDSuffix)
	s.mqtt = mqtt.New(mqtt.Options{
		URL:      url,
		ClientID: s.clientID,
		Username: mqttUser,
		Password: mqttPass,
		CAFile:   cfg.MQTT.CAFile,
		CertFile: cfg.MQTT.CertFile,
		KeyFile:  cfg.MQTT.KeyFile,
		// InsecureSkipVerify is the user's explicit, documented choice.
		InsecureSkipVerify: cfg.MQTT.InsecureSkipVerify,
		ReconnectInterval:  w.reconnect,
		WillTopic:          sharding.BridgeTopics(base, shard(cfg)) + "/state",
		WillPayload:        "offline",
		OnlinePayload:      "online",
		Logger:             log.With().Str("component", "mqtt").Logger(),
	})
	bopts := bridgeOptions(cfg, w, s.meter, log)
	bopts.Commander = s.commander
	bopts.Budget = budget
	bopts.Telemetry = telemetryOptions(cfg, fleet.MultiRecorder{s.meter, s.metrics, budget})
	bopts.Hooks = append(bopts.Hooks, s.metrics)
	bopts.BLE = s.ble.cars
	bopts.Hooks = append(bopts.Hooks, w.hooks...)
	if cfg.MQTT.TeslaMateCompat {
		bopts.Hooks = append(bopts.Hooks, teslamate.New(teslaMateOptions(cfg, s.mqtt, w.clock, log)))
	}
	s.bridge, err = bridge.New(bopts, api, s.mqtt)
	if err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	s.metrics.Watch(s.bridge)
	s.ble.bridge.Store(s.bridge)
	if err := startTelemetry(ctx, cfg, s, log); err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	if s.stopConnect, err = connectMQTT(ctx, s.mqtt, url, w.reconnect, clock.Real(), log.With().Str("component", "mqtt").Logger()); err != nil {
		s.shutdown(ctx)
		return nil, err
	}
	return s, nil
}

// bridgeOptions maps the config onto the bridge's own options.
func bridgeOptions(cfg *config.Config, w wiring, meter *fleet.Meter, log zerolog.Logger) bridge.Options {
	opts := bridge.Options{
		BaseTopic:        cfg.MQTT.BaseTopic,
		DiscoveryPrefix:  cfg.MQTT.DiscoveryPrefix,
		Discovery:        cfg.MQTT.Discovery,
		DiscoveryMode:    cfg.MQTT.DiscoveryMode,
		Units:            cfg.Units,
		Version:          version(),
		DisabledEntities: cfg.Entities.Disable,
		EntityNames:      cfg.Entities.Names,
		GrantedScopes:    w.scopes,
		Meter:            meter,
		BirthDelay:       2 * time.Second,
		MemoryPath:       memoryPath(cfg),
		Clock:            w.clock,
		Scheduler:        w.scheduler,
		Logger:           log,
		Schedule: bridge.Schedule{
			Connectivity:        cfg.Schedule.Connectivity,
			VehicleDataDriving:  cfg.Schedule.VehicleDataDriving,
			VehicleDataCharging: cfg.Schedule.VehicleDataCharging,
			VehicleDataIdle:     cfg.Schedule.VehicleDataIdle,
			LiveStatus:          cfg.Schedule.LiveStatus,
			SiteInfo:            cfg.Schedule.SiteInfo,
			EnergyHistory:       cfg.Schedule.EnergyHistory,
			FleetStatus:         cfg.Schedule.FleetStatus,
			Products:            cfg.Schedule.Products,
			FullRepublish:       cfg.Schedule.FullRepublish,
		},
	}
	if cfg.Schedule.TimeZone != "" {
		// Validate has loaded it once already.
		opts.Schedule.Location, _ = time.LoadLocation(cfg.Schedule.TimeZone)
	}
	// Validate has checked the durations; a zero falls back to the bridge's defaults.
	opts.Policy.QuietAfter, _ = time.ParseDuration(cfg.Schedule.QuietAfter)
	opts.Heartbeat, _ = time.ParseDuration(cfg.Schedule.Heartbeat)
	opts.Concurrency = cfg.Schedule.Concurrency
	opts.Shard = shard(cfg)
	opts.Policy.SuspendFor, _ = time.ParseDuration(cfg.Schedule.SuspendFor)
	wake, err := time.ParseDuration(cfg.Commands.WakeTimeout)
	if err != nil {
		wake = 60 * time.Second
	}
	opts.Commands = bridge.CommandOptions{Allow: cfg.Commands.Allow, Deny: cfg.Commands.Deny,
		RateLimitPerMinute: cfg.Commands.RateLimitPerMinute, WakeTimeout: wake}
	opts.Commands.MaxAge, opts.Commands.GroupMaxAge = commandAges(cfg.Commands)
	opts.Domain = cfg.Tesla.Domain
	opts.ClientID = cfg.Tesla.ClientID
	for _, v := range cfg.Vehicles {
		opts.Vehicles = append(opts.Vehicles, bridge.VehicleName{VIN: v.VIN, Name: v.Name})
	}
	for _, s := range cfg.Sites {
		opts.Sites = append(opts.Sites, bridge.SiteName{ID: s.ID, Name: s.Name})
	}
	return opts
}

// shard is this instance's part of the account ([shard]).
func shard(cfg *config.Config) sharding.Shard {
	return sharding.Shard{Index: cfg.Shard.Index, Count: cfg.Shard.Count}
}

// teslaMateOptions maps [mqtt] teslamate_compat onto the TeslaMate hook:
// car ids follow the [[vehicle]] order.
func teslaMateOptions(cfg *config.Config, pub teslamate.Publisher, clk clock.Clock, log zerolog.Logger) teslamate.Options {
	o := teslamate.Options{Prefix: cfg.MQTT.TeslaMatePrefix, Publisher: pub, Clock: clk,
		Logger: log.With().Str("component", "teslamate").Logger()}
	for _, v := range cfg.Vehicles {
		o.VINs = append(o.VINs, v.VIN)
	}
	return o
}

// prices maps [prices] onto fleet's price table, the one the budget, the
// metrics and the bench price every response with.
func prices(cfg *config.Config) fleet.Prices {
	p := cfg.Prices
	return fleet.Prices{Data: p.Data, Command: p.Command, Wake: p.Wake, Streaming: p.Streaming, Connectivity: p.Connectivity, EnergyData: p.EnergyData}
}

// memoryPath is where the bridge keeps what each device knew across
// restarts ("" without a state directory).
func memoryPath(cfg *config.Config) string {
	if cfg.StateDir == "" {
		return ""
	}
	return filepath.Join(cfg.StateDir, "devices.json")
}

// budgetOptions maps [budget] and [prices] onto the bridge's budget, kept
// in the state directory.
func budgetOptions(cfg *config.Config, w wiring) economy.BudgetOptions {
	return economy.BudgetOptions{MonthlyUSD: cfg.Budget.MonthlyUSD, HardCap: cfg.Budget.HardCap, Clock: w.clock,
		Path: filepath.Join(cfg.StateDir, "budget.json"), Prices: prices(cfg)}
}

// attach gives the bridge the account's state and has run keep the token
// watcher going beside it.
func (s *stack) attach(a *account) {
	a.attach(s.bridge)
	s.parts = append(s.parts, a)
}

// run runs the bridge and the stack's parts under one errgroup until ctx
// ends or one of them fails, then shuts the stack down.
func (s *stack) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.bridge.Run(gctx) })
	for _, p := range s.parts {
		g.Go(func() error { return p.Run(gctx) })
	}
	err := g.Wait()
	s.shutdown(ctx)
	return err
}

// shutdown stops what startStack started, in STYLE.md's order: the bridge
// has already stopped its jobs, let its commands finish and left the
// devices offline when Run returned; then the MQTT client leaves "offline"
// retained on bridge/state and disconnects; the commander ends its signed
// sessions (the SDK's dispatchers); the embedded broker closes.
func (s *stack) shutdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if s.stopConnect != nil {
		s.stopConnect()
	}
	if s.forget && s.bridge != nil {
		s.bridge.Forget()
	}
	if s.mqtt != nil {
		_ = s.mqtt.Close(ctx)
	}
	if s.commander != nil {
		s.commander.Close()
	}
	if s.ble != nil {
		s.ble.close()
	}
	if s.broker != nil {
		_ = s.broker.Close()
	}
}

// signingKey is the app's private key: the demo's, else
// tesla.private_key_file (nil when none is configured).
func signingKey(cfg *config.Config, w wiring) (*ecdsa.PrivateKey, error) {
	if w.signingKey != nil || cfg.Tesla.PrivateKeyFile == "" {
		return w.signingKey, nil
	}
	key, err := fleet.LoadPrivateKey(cfg.Tesla.PrivateKeyFile)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return key, nil
}

// newCommander builds the per-car REST/signed command path: signed with the
// app's key (session cache in the state directory), or REST through
// tesla.command_proxy_url when the user runs tesla-http-proxy.
func newCommander(cfg *config.Config, w wiring, key *ecdsa.PrivateKey, api *fleet.Client, rec fleet.Recorder) (*fleet.Commander, error) {
	opts := fleet.CommanderOptions{Client: api, PrivateKey: w.signingKey}
	if w.signingKey == nil {
		opts.StateDir = cfg.StateDir
		if cfg.Tesla.CommandProxyURL == "" {
			opts.PrivateKey = key
		}
	}
	if u := cfg.Tesla.CommandProxyURL; u != "" {
		hc, err := fleet.HTTPClientWithCA(cfg.Tesla.CommandProxyCAFile)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		if opts.Proxy, err = fleet.New(fleet.Options{BaseURL: u, TokenSource: w.tokens, HTTPClient: hc,
			Recorder: rec, UserAgent: userAgent(), Clock: w.clock}); err != nil {
			return nil, &exitError{code: 2, err: err}
		}
	}
	return fleet.NewCommander(opts)
}

// embeddedBrokerOptions maps [broker] onto the broker's options. The bridge
// logs in with a password made for this run only, so it is in no file.
func embeddedBrokerOptions(cfg *config.Config, log zerolog.Logger) broker.Options {
	o := broker.Options{Addr: cfg.Broker.Addr, TLSAddr: cfg.Broker.TLSAddr,
		TLSCertFile: cfg.Broker.TLSCertFile, TLSKeyFile: cfg.Broker.TLSKeyFile,
		MaxPacketSize: cfg.Broker.MaxPacketSize, MaxRetainedSize: cfg.Broker.MaxRetainedSize,
		Bridge: broker.Credentials{Username: config.BrokerBridgeUser(), Password: rand.Text()},
		ACL:    broker.ACL{BaseTopic: cfg.MQTT.BaseTopic, DiscoveryPrefix: cfg.MQTT.DiscoveryPrefix},
		Logger: log.With().Str("component", "broker").Logger()}
	if cfg.MQTT.TeslaMateCompat {
		o.ACL.Protected = []string{cfg.MQTT.TeslaMatePrefix}
	}
	for _, u := range cfg.Broker.Users {
		o.Users = append(o.Users, broker.User{Username: u.Username, PasswordHash: u.PasswordHash})
	}
	return o
}

// commandAges maps [commands] max_age and max_age_by_group onto the
// bridge's limits; Validate has checked them, and what does not parse
// keeps the bridge's default.
func commandAges(c config.Commands) (time.Duration, map[string]time.Duration) {
	maxAge, _ := time.ParseDuration(c.MaxAge)
	groups := map[string]time.Duration{}
	for g, v := range c.MaxAgeByGroup {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			groups[g] = d
		}
	}
	return maxAge, groups
}
