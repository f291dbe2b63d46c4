package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/web"
	"github.com/tesla2mqtt/tesla2mqtt/config"
)

// addHTTPFlag adds --http-addr to run and demo.
func addHTTPFlag(fs *flag.FlagSet) *string {
	return fs.String("http-addr", "", `address of the status page, /healthz and /metrics (overrides [http] addr; "off" disables)`)
}

// pageMode is how people reach the status page, beyond [http].
type pageMode int

const (
	pagePlain pageMode = iota
	// pageIngress: the add-on, behind Home Assistant's Ingress proxy.
	pageIngress
	// pageSelfCallback: the demo, whose simulator takes any redirect URI,
	// sends the page's login back to the page's own /auth/callback.
	pageSelfCallback
)

// startAddons adds what sits beside the bridge: the MQTT connection's
// metrics, and the HTTP server, bound now (a busy port is an error before
// anything runs) and served as one of the stack's parts.
func startAddons(st *stack, cfg *config.Config, httpAddr string, acct *account, mode pageMode, log zerolog.Logger) error {
	parts, err := addons(st, cfg, httpAddr, acct, mode, log)
	st.parts = append(st.parts, parts...)
	return err
}

// addons builds startAddons' parts without adding them to the stack, for a
// test whose stack already runs.
func addons(st *stack, cfg *config.Config, httpAddr string, acct *account, mode pageMode, log zerolog.Logger) ([]component, error) {
	st.metrics.WatchMQTT(st.mqtt.IsConnected, st.mqtt.Reconnects)
	addr := cfg.HTTP.Addr
	if httpAddr != "" {
		addr = httpAddr
	}
	if addr == "" || addr == config.HTTPOff {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErr("cannot serve the status page on %s: %v (change [http] addr or --http-addr)", addr, err)
	}
	bound := ln.Addr().String()
	opts := web.Options{Bridge: st.bridge, MQTTConnected: st.mqtt.IsConnected, Metrics: st.metrics.Registry(),
		Access:    web.Access{Listen: addr, PasswordHash: cfg.HTTP.PasswordHash},
		Location:  pageLocation(cfg),
		SpendDays: spendDays(st.budget),
		Logger:    log.With().Str("component", "http").Logger()}
	if mode == pageIngress {
		opts.Access.IngressPeer = web.SupervisorIngress
	}
	if acct != nil && cfg.Tesla.ClientID != "" {
		auth := authConfig(cfg)
		if mode == pageSelfCallback {
			auth.RedirectURI = "http://" + bound + "/auth/callback"
		}
		opts.Login = &web.Login{Auth: auth, Save: acct.savePageLogin}
	}
	srv, err := web.New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv.Serve(ln)
	st.StatusURL = "http://" + bound + "/"
	log.Info().Str("addr", st.StatusURL).Msg("status page, /healthz and /metrics")
	return []component{webPart{srv}}, nil
}

// webPart is the status page as one of the stack's parts: it serves until
// ctx ends, then shuts down, giving requests in flight two seconds.
type webPart struct{ srv *web.Server }

// Run implements component.
func (p webPart) Run(ctx context.Context) error {
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return p.srv.Shutdown(sctx)
}

// pageLocation is the zone the page shows times in: the schedules' zone
// when the config names one, else the process's (TZ; the Supervisor sets
// Home Assistant's zone for an add-on).
func pageLocation(cfg *config.Config) *time.Location {
	if cfg.Schedule.TimeZone != "" {
		if loc, err := time.LoadLocation(cfg.Schedule.TimeZone); err == nil {
			return loc
		}
	}
	return time.Local
}

// cmdHealthcheck is the container's HEALTHCHECK: GET /healthz, exit 0 when
// healthy and 1 otherwise, naming what fails. It needs no shell or curl in
// the image.
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", "usage: tesla2mqtt healthcheck [flags]\n\nAsks a running bridge's /healthz. Exit 0 when healthy, 1 when not or unreachable.", stderr)
	addr := fs.String("addr", "", "address of the bridge's HTTP server (default: [http] addr of -c, else 127.0.0.1:8088)")
	path := fs.String("c", "", "config file to read [http] addr from")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	target := *addr
	if target == "" {
		target = config.Default().HTTP.Addr
		if *path != "" {
			cfg, err := loadConfig(*path)
			if err != nil {
				return err
			}
			target = cfg.HTTP.Addr
		}
	}
	if target == "" || target == config.HTTPOff {
		return usageErr("the bridge's HTTP server is off ([http] addr = %q): there is no /healthz to ask", target)
	}
	url, err := healthURL(target)
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("unhealthy: %v", err)}
	}
	defer resp.Body.Close()
	var h web.Health
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h)
	if resp.StatusCode != http.StatusOK {
		return &exitError{code: 1, err: fmt.Errorf("unhealthy (%d): failing %s", resp.StatusCode, strings.Join(h.Failing, ", "))}
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}

// healthURL turns a listen address into the URL to ask: a wildcard host
// (0.0.0.0, ::, empty) is reached on loopback.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// spendDays feeds the page's chart from the budget's days.
func spendDays(b *economy.Budget) func() []web.DaySpend {
	return func() []web.DaySpend {
		days := b.Days()
		out := make([]web.DaySpend, 0, len(days))
		for _, d := range days {
			out = append(out, web.DaySpend{Day: d.Day, USD: d.USD})
		}
		return out
	}
}
