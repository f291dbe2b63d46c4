package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// loadConfig loads a config file and turns its problems into exit code 2
// with one line per problem.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, configNotReadable(path, err, realStateDirHost())
	}
	if err != nil {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s has problems:", path)
		for _, p := range config.Problems(err) {
			fmt.Fprintf(&sb, "\n  %s", p)
		}
		if len(config.Problems(err)) == 0 {
			fmt.Fprintf(&sb, "\n  %v", err)
		}
		return nil, &exitError{code: 2, err: errors.New(sb.String())}
	}
	return cfg, nil
}

func cmdCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", "usage: tesla2mqtt check-config -c FILE\n\nLoads the file and prints OK, or every problem with its key. Exit code 2 on problems.", stderr)
	path := fs.String("c", "config.toml", "config file to check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		probs := config.Problems(err)
		if len(probs) == 0 {
			fmt.Fprintf(stdout, "%s: %v\n", *path, err)
		}
		for _, p := range probs {
			fmt.Fprintf(stdout, "%s: %s\n", *path, p)
		}
		return &exitError{code: 2, err: fmt.Errorf("")}
	}
	// OK only when run can start: what run needs beyond a valid file.
	if err := cfg.ValidateRun(); err != nil {
		for _, p := range config.Problems(err) {
			fmt.Fprintf(stdout, "%s: %s (run cannot start)\n", *path, p)
		}
		return &exitError{code: 2, err: fmt.Errorf("")}
	}
	fmt.Fprintf(stdout, "OK: %s (%d vehicles, %d sites configured)\n", *path, len(cfg.Vehicles), len(cfg.Sites))
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "usage: tesla2mqtt run -c FILE\n\nRuns the bridge against your Tesla account. Log in first with 'tesla2mqtt login -c FILE'.\nThe bridge re-reads the token file every 30 s and on SIGHUP, so a new login needs no restart.", stderr)
	path := fs.String("c", "config.toml", "config file")
	httpAddr := addHTTPFlag(fs)
	pprofAddr := fs.String("pprof", "", "serve Go's pprof profiles at this address, e.g. 127.0.0.1:6060 (off by default; loopback only)")
	pprofRemote := fs.Bool("pprof-allow-remote", false, "let --pprof listen on a non-loopback address (profiles expose memory contents)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadStateConfig(*path)
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		stop, _, err := startPprof(*pprofAddr, *pprofRemote, newLogger(stderr, cfg.Log.Level, cfg.Log.Format))
		if err != nil {
			return err
		}
		defer stop()
	}
	return runBridge(ctx, cfg, *path, *httpAddr, pagePlain, "run 'tesla2mqtt login -c "+*path+"'", stderr)
}

// runBridge runs the bridge with a loaded config until ctx ends; run and
// addon share it. page says how the status page is reached; loginHint says
// how to log in when there is no token yet.
func runBridge(ctx context.Context, cfg *config.Config, path, httpAddr string, page pageMode, loginHint string, stderr io.Writer) error {
	if err := cfg.ValidateRun(); err != nil {
		return usageErr("%s: %v", path, err)
	}
	s, err := openSession(cfg, path, stderr)
	if err != nil {
		return err
	}
	log, acct := s.log, s.acct
	if page == pageIngress {
		acct.tracker.setLoginCommand(loginHint)
	}
	if acct.ts.Current() == nil {
		log.Warn().Str("state_dir", cfg.StateDir).Str("reason", acct.tracker.AccountState().LoginError).
			Msgf("no usable Tesla token: %s; the bridge waits for it", loginHint)
	}
	baseURL := acct.resolveRegion(ctx, cfg)
	st, err := startStack(ctx, cfg, wiring{tokens: acct.ts, baseURL: baseURL, scopes: acct.tracker.granted}, log)
	if err != nil {
		return err
	}
	st.attach(acct)
	if err := startAddons(st, cfg, httpAddr, acct, page, log); err != nil {
		st.shutdown(ctx)
		return err
	}
	log.Info().Str("api", baseURL).Str("version", version()).Msg("tesla2mqtt running")
	return st.run(ctx)
}

// apiBaseURL picks the Fleet API host: the configured override, the
// configured region, the token's stored base URL, or the region in the token.
func apiBaseURL(cfg *config.Config, tok *fleet.Token) string {
	if b := configuredAPIBase(cfg); b != "" {
		return b
	}
	if tok != nil && tok.BaseURL != "" {
		return tok.BaseURL
	}
	if tok != nil {
		if c, err := fleet.ParseClaims(tok.AccessToken); err == nil && c.Region() != "" {
			return fleet.BaseURLForRegion(c.Region())
		}
	}
	return fleet.BaseURLNA
}
