package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
)

// The Home Assistant add-on runs `tesla2mqtt addon`. A command of its own
// rather than `run` guessing from the environment: SUPERVISOR_TOKEN and a
// /data folder also exist in containers that are not this add-on, and a
// bridge that silently ignored its -c file there would be worse than one
// that says what it needs.

// addonEnv is where the add-on's inputs come from; tests point it at a
// temporary folder and a fake Supervisor.
type addonEnv struct {
	options       string // /data/options.json
	dataDir       string // /data
	supervisorURL string // http://supervisor
	token         string // $SUPERVISOR_TOKEN
	client        *http.Client
}

func cmdAddon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("addon", "usage: tesla2mqtt addon\n\nRuns the bridge as a Home Assistant add-on: options from /data/options.json, state in /data,\n"+
		"the MQTT broker (the Mosquitto add-on) from the Supervisor, the status page on "+config.AddonHTTPAddr+" for Ingress.\n"+
		"Outside Home Assistant, use 'tesla2mqtt run -c FILE'.", stderr)
	env := addonEnv{token: os.Getenv("SUPERVISOR_TOKEN"), client: &http.Client{Timeout: 10 * time.Second}}
	fs.StringVar(&env.options, "options", "/data/options.json", "the add-on's options file")
	fs.StringVar(&env.dataDir, "data", "/data", "the add-on's persistent folder (state_dir)")
	fs.StringVar(&env.supervisorURL, "supervisor", "http://supervisor", "the Supervisor API")
	httpAddr := addHTTPFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := addonConfig(ctx, env)
	if err != nil {
		return err
	}
	return runBridge(ctx, cfg, env.options, *httpAddr, pageIngress,
		"open the status page (Open Web UI, or the sidebar) and press Log in with Tesla", stderr)
}

// addonConfig reads the options, checks the state folder and asks the
// Supervisor for the broker, in that order: each step's failure says what
// to do before anything talks to Tesla.
func addonConfig(ctx context.Context, env addonEnv) (*config.Config, error) {
	f, err := os.Open(env.options)
	if err != nil {
		if env.token == "" {
			return nil, usageErr("not running as a Home Assistant add-on (SUPERVISOR_TOKEN is not set and %v): outside Home Assistant, run 'tesla2mqtt run -c FILE'", err)
		}
		return nil, usageErr("cannot read the add-on options: %v", err)
	}
	opts, err := config.ParseAddonOptions(f)
	f.Close()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	cfg, err := config.FromAddonOptions(opts, env.dataDir)
	if err != nil {
		var sb strings.Builder
		sb.WriteString("the add-on options have problems (Settings → Add-ons → tesla2mqtt → Configuration):")
		for _, p := range config.Problems(err) {
			fmt.Fprintf(&sb, "\n  %s", p)
		}
		return nil, &exitError{code: 2, err: errors.New(sb.String())}
	}
	if err := ensureStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	if cfg.MQTT.URL != "" {
		return cfg, nil // the user's own broker
	}
	if env.token == "" {
		return nil, usageErr("SUPERVISOR_TOKEN is not set, so the Supervisor cannot be asked for the MQTT broker: set the mqtt_url option")
	}
	svc, err := supervisorMQTT(ctx, env)
	if err != nil {
		return nil, err
	}
	cfg.MQTT.URL = svc.url()
	cfg.MQTT.Username, cfg.MQTT.Password = svc.Username, svc.Password
	return cfg, nil
}

// mqttService is the data of the Supervisor's GET /services/mqtt.
type mqttService struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	SSL      bool   `json:"ssl"`
	Protocol string `json:"protocol"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// url is the broker URL for the mqtt package; a missing port is MQTT's
// default for the scheme.
func (s mqttService) url() string {
	scheme, port := "tcp", s.Port
	if s.SSL {
		scheme = "ssl"
	}
	if port == 0 {
		port = map[bool]int{false: 1883, true: 8883}[s.SSL]
	}
	return scheme + "://" + net.JoinHostPort(s.Host, strconv.Itoa(port))
}

// errNoMQTTService: the Supervisor knows no broker.
var errNoMQTTService = errors.New("no MQTT broker in Home Assistant: install and start the Mosquitto broker add-on " +
	"(Settings → Add-ons → Add-on Store → Mosquitto broker), then restart tesla2mqtt; or set the mqtt_url option to your own broker")

// supervisorMQTT asks the Supervisor for the MQTT service the Mosquitto
// add-on provides. The token and the broker password never appear in an
// error: a body is only quoted through its "message" field.
func supervisorMQTT(ctx context.Context, env addonEnv) (mqttService, error) {
	var svc mqttService
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(env.supervisorURL, "/")+"/services/mqtt", nil)
	if err != nil {
		return svc, usageErr("supervisor URL: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+env.token)
	resp, err := env.client.Do(req)
	if err != nil {
		return svc, fmt.Errorf("ask the Supervisor for the MQTT broker: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Result  string          `json:"result"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	decErr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return svc, usageErr("the Supervisor refused to name the MQTT broker (HTTP %d): the add-on needs 'services: [mqtt:want]' in its config.yaml; update or reinstall the add-on, or set the mqtt_url option", resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound || body.Result == "error" && resp.StatusCode == http.StatusBadRequest:
		return svc, &exitError{code: 2, err: fmt.Errorf("%w (Supervisor: %s)", errNoMQTTService, oneLine(body.Message))}
	case resp.StatusCode != http.StatusOK:
		return svc, fmt.Errorf("ask the Supervisor for the MQTT broker: HTTP %d %s", resp.StatusCode, oneLine(body.Message))
	case decErr != nil || body.Result != "ok":
		return svc, fmt.Errorf("ask the Supervisor for the MQTT broker: unexpected answer (result %q)", body.Result)
	}
	if err := json.Unmarshal(body.Data, &svc); err != nil || svc.Host == "" {
		return mqttService{}, &exitError{code: 2, err: errNoMQTTService}
	}
	return svc, nil
}

// oneLine keeps a quoted server message short and on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
