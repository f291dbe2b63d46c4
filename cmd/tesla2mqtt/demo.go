package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// simulator is a fleetsim served over HTTP on loopback.
type simulator struct {
	sim *fleetsim.Sim
	srv *http.Server
	URL string
}

// startSimulator serves a fresh fleetsim at addr ("127.0.0.1:0" = a free port).
func startSimulator(addr string, speed float64, log zerolog.Logger) (*simulator, error) {
	clock := fleetsim.NewScaledClock(time.Now(), speed)
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErr("cannot listen on %s for the simulator: %v", addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("simulator stopped")
		}
	}()
	return &simulator{sim: sim, srv: srv, URL: "http://" + ln.Addr().String()}, nil
}

func (s *simulator) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// simTokens mints a fresh simulator token whenever the last one nears its
// end. The simulator checks expiry against its own clock, which runs speed
// times faster than the wall clock, so the wall-clock expiry is scaled.
type simTokens struct {
	sim    *fleetsim.Sim
	scopes []string
	speed  float64
}

func (t simTokens) Token() (*oauth2.Token, error) {
	const ttl = 8 * time.Hour
	return &oauth2.Token{
		AccessToken: t.sim.MintToken(t.scopes, ttl),
		TokenType:   "Bearer",
		Expiry:      time.Now().Add(time.Duration(float64(ttl) / t.speed / 2)),
	}, nil
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mqttAddr := fs.String("mqtt-addr", "127.0.0.1:1883", "address of the embedded MQTT broker")
	mqttURL := fs.String("mqtt-url", "", "use this existing broker instead of the embedded one, e.g. tcp://127.0.0.1:1883")
	speed := fs.Float64("speed", 1, "simulated time runs this many times faster than real time")
	path := fs.String("c", "", "optional config file, to try settings (Tesla settings are ignored)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tesla2mqtt demo [flags]\n\nRuns a simulated Tesla account (a Model 3 charging, a Model Y asleep, a Powerwall\nsite with solar), an embedded MQTT broker and the bridge. No Tesla account needed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
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
	tokens := oauth2.ReuseTokenSource(nil, simTokens{sim: sim.sim, scopes: config.DefaultScopes, speed: *speed})
	st, err := startStack(ctx, &cfg, wiring{tokens: tokens, baseURL: sim.URL}, log)
	if err != nil {
		return err
	}
	printDemoHelp(stdout, sim.URL, st, &cfg)
	err = st.bridge.Run(ctx)
	st.shutdown(ctx)
	fmt.Fprintln(stdout, "tesla2mqtt demo stopped; bridge/state is offline.")
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
	fmt.Fprintf(w, `tesla2mqtt demo is running.
  simulated Fleet API: %s (2 cars, 1 Powerwall site)
  MQTT broker:         %s:%s (%s)

Watch everything:
  mosquitto_sub -h %s -p %s -t '#' -v
Just the cars and the site:
  mosquitto_sub -h %s -p %s -t '%s/#' -v
Ask for a fresh read:
  mosquitto_pub -h %s -p %s -t %s/bridge/request/refresh -m '{}'

Press Ctrl-C to stop.
`, simURL, host, port, brokerKind(st), host, port, host, port, base, host, port, base)
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
