package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// simulator is a fleetsim served over HTTP on loopback.
type simulator struct {
	sim *fleetsim.Sim
	// clock is the simulator's (scaled) time, which the demo's token
	// source shares so that token expiry agrees with the simulator's.
	clock clock.Clock
	srv   *http.Server
	URL   string
	// served is closed when the serving goroutine has returned.
	served chan struct{}
}

// startSimulator serves a fresh fleetsim at addr ("127.0.0.1:0" = a free port).
func startSimulator(addr string, speed float64, log zerolog.Logger, tune ...func(*fleetsim.Options)) (*simulator, error) {
	wall := clock.Real()
	simClock := clock.NewScaled(wall, wall.Now(), speed)
	opts := fleetsim.Options{Clock: simClock, Wall: wall}
	for _, f := range tune {
		f(&opts)
	}
	sim := fleetsim.New(opts)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErr("cannot listen on %s for the simulator: %v", addr, err)
	}
	s := &simulator{sim: sim, clock: simClock, srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second},
		URL: "http://" + ln.Addr().String(), served: make(chan struct{})}
	go func() {
		defer close(s.served)
		defer recoverTo(log, "simulator")
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("simulator stopped")
		}
	}()
	return s, nil
}

// close stops the simulator once the bridge has stopped (a command in
// flight at shutdown still reaches it) and waits for its serving goroutine.
func (s *simulator) close() {
	stopHTTP(context.Background(), s.srv, time.Second)
	<-s.served
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "usage: tesla2mqtt demo [flags]\n\nRuns a simulated Tesla account (a Model 3 charging, a Model Y asleep, a Powerwall\nsite with solar), an embedded MQTT broker and the bridge. No Tesla account needed.", stderr)
	mqttAddr := fs.String("mqtt-addr", "127.0.0.1:1883", "address of the embedded MQTT broker")
	mqttURL := fs.String("mqtt-url", "", "use this existing broker instead of the embedded one, e.g. tcp://127.0.0.1:1883")
	speed := fs.Float64("speed", 1, "simulated time runs this many times faster than real time")
	httpAddr := addHTTPFlag(fs)
	path := fs.String("c", "", "optional config file, to try settings (Tesla settings are ignored)")
	withTelemetry := fs.Bool("telemetry", false, "also stream the cars through a simulated Fleet Telemetry server")
	withBLE := fs.Bool("ble", false, `park "Blue Y" in the garage: the bridge reaches it over a simulated Bluetooth link, for free`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *speed <= 0 {
		return usageErr("--speed must be > 0")
	}
	cfg := config.Default()
	if *path != "" {
		c, err := loadConfig(*path)
		if err != nil {
			return err
		}
		cfg = *c
	}
	if *mqttURL != "" {
		cfg.MQTT.URL = *mqttURL
	} else if *path == "" || fs.Lookup("mqtt-addr").Value.String() != "127.0.0.1:1883" {
		cfg.Broker.Addr = *mqttAddr
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	sim, err := startSimulator("127.0.0.1:0", *speed, log)
	if err != nil {
		return err
	}
	defer sim.close()
	acct, cleanup, err := demoLogin(ctx, &cfg, sim, log)
	if err != nil {
		return err
	}
	defer cleanup()
	// Signed commands: "Blue Y" is paired with this key, "Grey Y" is not.
	signingKey, err := sim.sim.SetupSignedDemo()
	if err != nil {
		return err
	}
	if cfg.Tesla.Domain == "" {
		cfg.Tesla.Domain = "demo.tesla2mqtt.invalid" // for the pairing link of key_not_paired
	}
	w := wiring{tokens: acct.ts, baseURL: sim.URL, scopes: acct.tracker.granted, signingKey: signingKey}
	if *withBLE {
		w.bleRadio = demoGarage(sim.sim, &cfg)
	}
	st, err := startStack(ctx, &cfg, w, log)
	if err != nil {
		return err
	}
	st.attach(acct)
	// On the user's own broker the simulated devices must not outlive the
	// demo in their Home Assistant.
	st.forget = *mqttURL != ""
	if *withTelemetry {
		stream, err := startDemoTelemetry(ctx, demoTelemetry{sim: sim.sim, simURL: sim.URL, st: st, cfg: &cfg,
			tokens: acct.ts, key: signingKey, out: stdout, log: log})
		if err != nil {
			st.shutdown(ctx)
			return err
		}
		st.parts = append(st.parts, stream)
	}
	if err := startAddons(st, &cfg, *httpAddr, acct, pageSelfCallback, log); err != nil {
		st.shutdown(ctx)
		return err
	}
	printDemoHelp(stdout, sim.URL, st, &cfg)
	if *withBLE {
		printDemoBLEHelp(stdout, st, &cfg)
	}
	err = st.run(ctx)
	if st.forget {
		fmt.Fprintln(stdout, "tesla2mqtt demo stopped; its retained topics and discovery configs are cleared, bridge/state is offline.")
	} else {
		fmt.Fprintln(stdout, "tesla2mqtt demo stopped; bridge/state is offline.")
	}
	return err
}

func printDemoHelp(w io.Writer, simURL string, st *stack, cfg *config.Config) {
	host, port := "127.0.0.1", "1883"
	if st.BrokerAddr != "" {
		if h, p, err := net.SplitHostPort(st.BrokerAddr); err == nil {
			host, port = h, p
		}
	} else if u := cfg.MQTT.URL; u != "" {
		if i := strings.Index(u, "://"); i >= 0 {
			if h, p, err := net.SplitHostPort(u[i+3:]); err == nil {
				host, port = h, p
			}
		}
	}
	base := cfg.MQTT.BaseTopic
	p := "-h " + host + " -p " + port
	fmt.Fprintf(w, `tesla2mqtt demo is running.
  simulated Fleet API: %s
    cars:  5YJ3E1EA7PF000001 "Red Three" (charging, plain REST commands)
           7SAYGDEE1PF000002 "Blue Y"    (asleep, signed commands, key paired)
           7SAYGDEE1PF000003 "Grey Y"    (signed commands, key NOT paired)
    sites: 1000000001 Powerwall 2 with a Wall Connector, 1000000002 solar only, 1000000003 Powerwall 3
  MQTT broker:         %s:%s (%s)

Watch everything:
  mosquitto_sub %s -t '#' -v
Try commands, and watch their results:
  mosquitto_sub %s -t '%s/+/result' -v
  mosquitto_pub %s -t %s/5YJ3E1EA7PF000001/set/charge_limit -m 80
  mosquitto_pub %s -t %s/7SAYGDEE1PF000003/set/charge_limit -m 80
  mosquitto_pub %s -t %s/1000000001/set/backup_reserve -m 30
Ask for a fresh read:
  mosquitto_pub %s -t %s/bridge/request/refresh -m '{}'
`, simURL, host, port, brokerKind(st), p, p, base, p, base, p, base, p, base, p, base)
	if st.StatusURL != "" {
		fmt.Fprintf(w, "Status page, /healthz and /metrics:\n  %s\n", st.StatusURL)
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
	if f, ok := w.(*os.File); ok {
		_ = f.Sync()
	}
}

func brokerKind(st *stack) string {
	if st.BrokerAddr != "" {
		return "embedded"
	}
	return "external"
}

// demoLogin signs in to the simulator the way `login` signs in to Tesla:
// fleetsim plays the authorization server and consents at once, the code
// is exchanged and the token stored (in a temporary state directory), and
// the bridge then runs on the real fleet.TokenSource with its rotation.
// The token source runs on the simulator's clock, whose tokens expire in
// simulated time.
func demoLogin(ctx context.Context, cfg *config.Config, sim *simulator, log zerolog.Logger) (*account, func(), error) {
	dir, err := os.MkdirTemp("", "tesla2mqtt-demo-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	cfg.StateDir = dir
	cfg.Tesla.ClientID, cfg.Tesla.ClientSecret = fleetsim.ClientID, "fleetsim-demo-secret"
	cfg.Tesla.APIBaseURL, cfg.Tesla.AuthBaseURL = sim.URL, sim.URL
	cfg.Tesla.RedirectURI = "http://127.0.0.1:8099/callback" // never listened on: the redirect is intercepted
	cfg.Tesla.Region = "auto"
	var out strings.Builder
	if _, err := loginHeadless(ctx, loginParams{cfg: cfg, configPath: "demo", out: &out, now: sim.sim.Now}); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("demo login against the simulator: %w", err)
	}
	log.Info().Str("state_dir", dir).Msg("demo signed in to the simulator through the OAuth flow")
	acct, err := openAccount(cfg, "demo", sim.clock, log)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return acct, cleanup, nil
}
