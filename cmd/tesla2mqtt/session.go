package main

import (
	"context"
	"io"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// session is where the subcommands that talk to Tesla start from, once
// their config is loaded: the logger the config asks for and the account
// behind the token in its state directory. run, addon and telemetry share
// it, so each says only what is its own.
type session struct {
	cfg *config.Config
	// path names the config in hints ("tesla2mqtt login -c <path>").
	path string
	log  zerolog.Logger
	acct *account
}

// openSession builds the config's logger and opens its account on the
// wall clock. A missing token is no error here: run waits for a login,
// telemetry refuses (needToken).
func openSession(cfg *config.Config, path string, stderr io.Writer) (*session, error) {
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	acct, err := openAccount(cfg, path, clock.Real(), log)
	if err != nil {
		return nil, err
	}
	return &session{cfg: cfg, path: path, log: log, acct: acct}, nil
}

// needToken is the error of a subcommand that cannot work without a login.
func (s *session) needToken() error {
	if s.acct.ts.Current() != nil {
		return nil
	}
	return usageErr("no Tesla token in %s: run tesla2mqtt login -c %s first", s.cfg.StateDir, s.path)
}

// client is a Fleet API client on the account's host, its region
// confirmed with Tesla.
func (s *session) client(ctx context.Context) (*fleet.Client, error) {
	return fleet.New(fleet.Options{BaseURL: s.acct.resolveRegion(ctx, s.cfg), TokenSource: s.acct.ts,
		UserAgent: userAgent(), Logger: s.log.With().Str("component", "fleet").Logger()})
}

// userAgent is what the bridge tells Tesla and the command proxy it is.
func userAgent() string { return "tesla2mqtt/" + version() }
