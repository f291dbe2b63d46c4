package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// telemetryExpiry is how long a config stays valid: the cars stop streaming
// when it expires, so `telemetry status` warns well before.
const telemetryExpiry = 364 * 24 * time.Hour

// vinList is a repeatable --vin flag.
type vinList []string

func (v *vinList) String() string { return strings.Join(*v, ",") }
func (v *vinList) Set(s string) error {
	*v = append(*v, strings.ToUpper(strings.TrimSpace(s)))
	return nil
}

func cmdTelemetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "usage: tesla2mqtt telemetry configure|status|errors|remove -c FILE [--vin VIN]...\n\n" +
		"  configure  sign the [telemetry] config with the app's key and send it to the cars\n" +
		"  status     show per car whether the config is synced, the key paired, the limit reached\n" +
		"  errors     show the errors the cars reported about streaming\n" +
		"  remove     delete the config from the cars (they stop streaming)"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, usage)
		return usageErr("telemetry: want one of configure, status, errors, remove")
	}
	sub := args[0]
	fs := flag.NewFlagSet("telemetry "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "config.toml", "config file")
	var vins vinList
	fs.Var(&vins, "vin", "only this car (repeatable; default: the [[vehicle]] list, else every car)")
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return flagErr(err)
	}
	switch sub {
	case "configure", "status", "errors", "remove":
	default:
		fs.Usage()
		return usageErr("telemetry: unknown subcommand %q", sub)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	acct, err := openAccount(cfg, *path, clock.Real(), log)
	if err != nil {
		return err
	}
	if acct.ts.Current() == nil {
		return usageErr("no Tesla token in %s: run tesla2mqtt login -c %s first", cfg.StateDir, *path)
	}
	api, err := fleet.New(fleet.Options{BaseURL: acct.resolveRegion(ctx, cfg), TokenSource: acct.ts,
		UserAgent: "tesla2mqtt/" + version(), Logger: log.With().Str("component", "fleet").Logger()})
	if err != nil {
		return err
	}
	p := telemetryParams{cfg: cfg, api: api, vins: vins, out: stdout, now: clock.Real().Now}
	if sub == "configure" {
		if p.key, err = telemetryKey(cfg); err != nil {
			return err
		}
		if p.ca, err = telemetryCA(cfg); err != nil {
			return err
		}
	}
	return runTelemetry(ctx, sub, p)
}

// telemetryParams is what a telemetry subcommand works with; the demo and
// tests fill it without a config file or a Tesla account.
type telemetryParams struct {
	cfg  *config.Config
	api  *fleet.Client
	vins []string
	out  io.Writer
	now  func() time.Time
	key  *ecdsa.PrivateKey // configure: the app's key
	ca   string            // configure: the server's PEM chain
}

func telemetryKey(cfg *config.Config) (*ecdsa.PrivateKey, error) {
	f := cfg.Tesla.PrivateKeyFile
	if f == "" {
		return nil, usageErr("telemetry configure signs with the app's key: set tesla.private_key_file (tesla2mqtt keygen makes one)")
	}
	key, err := fleet.LoadPrivateKey(f)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return key, nil
}

func telemetryCA(cfg *config.Config) (string, error) {
	t := cfg.Telemetry
	if t.Hostname == "" || t.CAFile == "" {
		return "", usageErr("telemetry configure needs telemetry.hostname and telemetry.ca_file (the server's public name and its certificate chain)")
	}
	b, err := os.ReadFile(t.CAFile)
	if err != nil {
		return "", usageErr("telemetry.ca_file: %v", err)
	}
	if !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
		return "", usageErr("telemetry.ca_file %s holds no PEM certificate", t.CAFile)
	}
	return string(b), nil
}

// runTelemetry runs one subcommand and prints a line per car with the
// remedy when something is wrong. Exit code 1 when any car needs action.
func runTelemetry(ctx context.Context, sub string, p telemetryParams) error {
	vins, err := telemetryVINs(ctx, p)
	if err != nil {
		return err
	}
	if len(vins) == 0 {
		return errors.New("no cars on the account")
	}
	problems := 0
	switch sub {
	case "configure":
		problems, err = telemetryConfigure(ctx, p, vins)
	case "status":
		problems, err = telemetryStatus(ctx, p, vins)
	case "errors":
		problems, err = telemetryErrors(ctx, p, vins)
	case "remove":
		for _, vin := range vins {
			if e := p.api.RemoveTelemetry(ctx, vin); e != nil {
				fmt.Fprintf(p.out, "%s  not removed: %v\n", vin, e)
				problems++
				continue
			}
			fmt.Fprintf(p.out, "%s  removed: the car stops streaming (polling takes over)\n", vin)
		}
	}
	if err != nil {
		return err
	}
	if problems > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d cars need attention", problems, len(vins))}
	}
	return nil
}

func telemetryVINs(ctx context.Context, p telemetryParams) ([]string, error) {
	if len(p.vins) > 0 {
		return p.vins, nil
	}
	var out []string
	for _, v := range p.cfg.Vehicles {
		out = append(out, v.VIN)
	}
	if len(out) > 0 {
		return out, nil
	}
	cars, err := p.api.Vehicles(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the account's cars: %w", err)
	}
	for _, c := range cars {
		out = append(out, c.VIN)
	}
	sort.Strings(out)
	return out, nil
}

// telemetryRemedy says what to do about a skip reason.
func telemetryRemedy(reason, domain, vin string) string {
	switch reason {
	case fleet.SkipMissingKey:
		return "the app's key is not on the car: open " + fleet.PairingURL(domain, vin) + " on the phone with the Tesla app, then configure again"
	case fleet.SkipUnsupportedFirmware:
		return "the car's software is too old for Fleet Telemetry (2024.26 or later): update it, then configure again"
	case fleet.SkipUnsupportedHardware:
		return "this car cannot stream (pre-2021 Model S/X; from 2025.20 they can, via the Safety screen): polling continues"
	case fleet.SkipMaxConfigs:
		return "the car holds the most telemetry configs it accepts: remove another app's (Tesla app → Security → Third Party Apps), then configure again"
	}
	return "Tesla gave no known reason (" + reason + ")"
}

func telemetryConfigure(ctx context.Context, p telemetryParams, vins []string) (int, error) {
	t := p.cfg.Telemetry
	overrides := map[string]fleet.TelemetryField{}
	for name, f := range t.Fields {
		overrides[name] = fleet.TelemetryField{IntervalSeconds: f.IntervalSeconds, MinimumDelta: f.MinimumDelta,
			ResendIntervalSeconds: f.ResendIntervalSeconds}
	}
	fields, err := fleet.BuildTelemetryFields(bridge.TelemetryFields(), t.Preset, overrides)
	if err != nil {
		return 0, usageErr("%v", err)
	}
	cfg := fleet.TelemetryConfig{Hostname: t.Hostname, Port: t.Port, CA: p.ca, Exp: p.now().Add(telemetryExpiry).Unix(),
		Fields: fields, AlertTypes: []string{"service"}}
	token, err := fleet.SignTelemetryConfig(p.key, cfg)
	if err != nil {
		return 0, err
	}
	res, err := p.api.ConfigureTelemetry(ctx, vins, token)
	if err != nil {
		return 0, fmt.Errorf("fleet_telemetry_config: %w", err)
	}
	fmt.Fprintf(p.out, "Config: %s:%d, preset %s, %d signals, valid until %s.\n", t.Hostname, t.Port, t.Preset,
		len(fields), time.Unix(cfg.Exp, 0).UTC().Format("2006-01-02"))
	problems := 0
	for _, vin := range vins {
		if reason := res.SkippedVIN(vin); reason != "" {
			fmt.Fprintf(p.out, "%s  skipped (%s): %s\n", vin, reason, telemetryRemedy(reason, p.cfg.Tesla.Domain, vin))
			problems++
			continue
		}
		fmt.Fprintf(p.out, "%s  configured: the car picks it up when next awake (check: tesla2mqtt telemetry status)\n", vin)
	}
	return problems, nil
}

func telemetryStatus(ctx context.Context, p telemetryParams, vins []string) (int, error) {
	problems := 0
	for _, vin := range vins {
		st, err := p.api.TelemetryStatus(ctx, vin)
		if err != nil {
			fmt.Fprintf(p.out, "%s  status unknown: %v\n", vin, err)
			problems++
			continue
		}
		var notes []string
		switch {
		case st.Config == nil:
			notes = append(notes, "not configured: run tesla2mqtt telemetry configure")
		case !st.Synced:
			notes = append(notes, "not synced yet: the car fetches the config when it is awake")
		}
		if !st.KeyPaired {
			notes = append(notes, telemetryRemedy(fleet.SkipMissingKey, p.cfg.Tesla.Domain, vin))
		}
		if st.LimitReached {
			notes = append(notes, "limit reached: "+telemetryRemedy(fleet.SkipMaxConfigs, "", vin))
		}
		if c := st.Config; c != nil {
			if h := p.cfg.Telemetry.Hostname; h != "" && (c.Hostname != h || c.Port != p.cfg.Telemetry.Port) {
				notes = append(notes, fmt.Sprintf("streams to %s:%d, the config file says %s:%d: run configure", c.Hostname, c.Port, h, p.cfg.Telemetry.Port))
			}
			if exp := time.Unix(c.Exp, 0); c.Exp > 0 && exp.Sub(p.now()) < 30*24*time.Hour {
				notes = append(notes, "expires "+exp.UTC().Format("2006-01-02")+": run configure to renew")
			}
		}
		line := fmt.Sprintf("%s  synced=%v key_paired=%v limit_reached=%v", vin, st.Synced, st.KeyPaired, st.LimitReached)
		if st.Config != nil {
			line += fmt.Sprintf(" server=%s:%d signals=%d", st.Config.Hostname, st.Config.Port, len(st.Config.Fields))
		}
		fmt.Fprintln(p.out, line)
		for _, n := range notes {
			fmt.Fprintln(p.out, "    "+n)
		}
		if len(notes) > 0 {
			problems++
		}
	}
	return problems, nil
}

func telemetryErrors(ctx context.Context, p telemetryParams, vins []string) (int, error) {
	problems := 0
	for _, vin := range vins {
		errs, err := p.api.TelemetryErrors(ctx, vin)
		if err != nil {
			fmt.Fprintf(p.out, "%s  errors unknown: %v\n", vin, err)
			problems++
			continue
		}
		if len(errs) == 0 {
			fmt.Fprintf(p.out, "%s  no streaming errors\n", vin)
			continue
		}
		problems++
		for _, e := range errs {
			fmt.Fprintf(p.out, "%s  %s: %s\n", vin, e.Name, e.Error)
			msg := strings.ToLower(e.Error)
			switch {
			case strings.Contains(msg, "certificate") || strings.Contains(msg, "x509") || strings.Contains(msg, "tls"):
				fmt.Fprintln(p.out, "    the car cannot verify the server: telemetry.ca_file must hold the chain of the server's certificate; configure again")
			case strings.Contains(msg, "connect") || strings.Contains(msg, "dial") || strings.Contains(msg, "timeout"):
				fmt.Fprintln(p.out, "    the car cannot reach the server: check telemetry.hostname/port, DNS and the firewall")
			}
		}
	}
	return problems, nil
}

// telemetryOptions maps [telemetry] onto the bridge (the ingest itself
// starts only when enabled, or when the demo asks for it).
func telemetryOptions(cfg *config.Config, streaming fleet.Recorder) bridge.TelemetryOptions {
	quiet, _ := time.ParseDuration(cfg.Telemetry.Quiet)
	return bridge.TelemetryOptions{TopicBase: cfg.Telemetry.TopicBase, Quiet: quiet,
		SafetyRead: cfg.Telemetry.SafetyRead, Streaming: streaming}
}

// startTelemetry subscribes the bridge to the stream when [telemetry] is
// enabled: on its own broker connection, or on a second client when the
// dispatcher publishes to another broker (closed when ctx ends).
func startTelemetry(ctx context.Context, cfg *config.Config, s *stack, log zerolog.Logger) error {
	if !cfg.Telemetry.Enabled {
		return nil
	}
	u := cfg.Telemetry.BrokerURL
	if u == "" {
		return s.bridge.SubscribeTelemetry(nil)
	}
	clog := log.With().Str("component", "telemetry-mqtt").Logger()
	c := mqtt.New(mqtt.Options{URL: u, ClientID: clientID(cfg.MQTT.ClientID+"-telemetry", cfg.MQTT.ClientIDSuffix), Logger: clog})
	if err := s.bridge.SubscribeTelemetry(c); err != nil {
		return err
	}
	stop, err := connectMQTT(ctx, c, u, 0, clock.Real(), clog)
	if err != nil {
		_ = c.Close(ctx)
		return fmt.Errorf("telemetry.broker_url: %w", err)
	}
	go func() {
		defer recoverTo(log, "telemetry client close")
		<-ctx.Done()
		stop()
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.Close(cctx)
	}()
	return nil
}
