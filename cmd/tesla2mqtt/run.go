package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// loadConfig loads a config file and turns its problems into exit code 2
// with one line per problem.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
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
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "config.toml", "config file to check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tesla2mqtt check-config -c FILE\n\nLoads the file and prints OK, or every problem with its key. Exit code 2 on problems.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
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
	fmt.Fprintf(stdout, "OK: %s (%d vehicles, %d sites configured)\n", *path, len(cfg.Vehicles), len(cfg.Sites))
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "config.toml", "config file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tesla2mqtt run -c FILE\n\nRuns the bridge against your Tesla account. Log in first with 'tesla2mqtt login -c FILE'.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	store := fleet.NewFileTokenStore(cfg.StateDir)
	tokenURL := ""
	if cfg.Tesla.AuthBaseURL != "" {
		tokenURL = strings.TrimRight(cfg.Tesla.AuthBaseURL, "/") + "/oauth2/v3/token"
	}
	ts, err := fleet.NewTokenSource(fleet.TokenSourceOptions{
		Store:    store,
		ClientID: cfg.Tesla.ClientID,
		TokenURL: tokenURL,
		Logger:   log.With().Str("component", "token").Logger(),
	})
	if err != nil {
		return err
	}
	tok := ts.Current()
	if tok == nil {
		return usageErr("no Tesla token in %s: run 'tesla2mqtt login -c %s' first", cfg.StateDir, *path)
	}
	baseURL := apiBaseURL(cfg, tok)
	scopes := func() []string {
		if t := ts.Current(); t != nil {
			if c, err := fleet.ParseClaims(t.AccessToken); err == nil {
				return c.Scopes
			}
		}
		return nil
	}
	st, err := startStack(ctx, cfg, wiring{tokens: ts, baseURL: baseURL, scopes: scopes}, log)
	if err != nil {
		return err
	}
	log.Info().Str("api", baseURL).Str("version", version()).Msg("tesla2mqtt running")
	err = st.bridge.Run(ctx)
	st.shutdown(ctx)
	return err
}

// apiBaseURL picks the Fleet API host: the configured override, the
// configured region, the token's stored base URL, or the region in the token.
func apiBaseURL(cfg *config.Config, tok *fleet.Token) string {
	if cfg.Tesla.APIBaseURL != "" {
		return strings.TrimRight(cfg.Tesla.APIBaseURL, "/")
	}
	if cfg.Tesla.Region != "" && cfg.Tesla.Region != "auto" {
		return fleet.BaseURLForRegion(cfg.Tesla.Region)
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
