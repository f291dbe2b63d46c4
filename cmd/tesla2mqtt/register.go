package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// registerRegions are the hosts the domain is registered in: the configured
// one, or North America (with Asia-Pacific) and Europe. Tesla China is a
// separate developer programme with its own apps, so it is only used when
// configured (region = "cn").
func registerRegions(cfg *config.Config) []string {
	if b := configuredAPIBase(cfg); b != "" {
		return []string{b}
	}
	return []string{fleet.BaseURLNA, fleet.BaseURLEU}
}

// localPublicKey returns the public half of tesla.private_key_file, or nil
// when none is configured.
func localPublicKey(cfg *config.Config) ([]byte, error) {
	if cfg.Tesla.PrivateKeyFile == "" {
		return nil, nil
	}
	priv, err := fleet.LoadPrivateKey(cfg.Tesla.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	return fleet.PublicKeyPEM(priv), nil
}

// partnerClient returns a Fleet API client for base carrying a partner token.
func partnerClient(ctx context.Context, cfg *config.Config, base string) (*fleet.Client, error) {
	tok, err := fleet.PartnerToken(ctx, authConfig(cfg), base)
	if err != nil {
		return nil, err
	}
	return fleet.New(fleet.Options{BaseURL: base, UserAgent: userAgent(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})})
}

func cmdRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("register", "usage: tesla2mqtt register -c FILE\n\nRegisters the app's domain with Tesla in each region (a partner token from the\nclient id and secret), then reads back the registered public key and compares it\nwith tesla.private_key_file. Needed once per region; safe to repeat.", stderr)
	path := fs.String("c", "config.toml", "config file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadStateConfig(*path)
	if err != nil {
		return err
	}
	var missing []string
	for key, v := range map[string]string{"tesla.client_id": cfg.Tesla.ClientID, "tesla.client_secret": cfg.Tesla.ClientSecret, "tesla.domain": cfg.Tesla.Domain} {
		if v == "" {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		return usageErr("register needs %s in %s", strings.Join(missing, ", "), *path)
	}
	local, err := localPublicKey(cfg)
	if err != nil {
		return usageErr("tesla.private_key_file: %v", err)
	}
	failed := 0
	for _, base := range registerRegions(cfg) {
		if !registerIn(ctx, stdout, cfg, base, local) {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("registration failed in %d region(s); see above", failed)}
	}
	fmt.Fprintf(stdout, "\nDone. Next: pair the key with each car at %s, then run tesla2mqtt doctor -c %s\n",
		fleet.PairingURL(cfg.Tesla.Domain, ""), *path)
	return nil
}

// registerIn registers the domain in one region and checks the key there.
func registerIn(ctx context.Context, w io.Writer, cfg *config.Config, base string, local []byte) bool {
	fmt.Fprintf(w, "%s:\n", base)
	client, err := partnerClient(ctx, cfg, base)
	if err != nil {
		fmt.Fprintf(w, "  ✗ partner token: %v\n    fix: check tesla.client_id and the client secret; the app must allow the client-credentials grant\n", err)
		return false
	}
	if _, err := client.RegisterPartnerAccount(ctx, cfg.Tesla.Domain); err != nil {
		fmt.Fprintf(w, "  ✗ register %s: %v\n    fix: %s\n", cfg.Tesla.Domain, err, registerRemedy(cfg, err))
		return false
	}
	fmt.Fprintf(w, "  ✓ domain %s registered\n", cfg.Tesla.Domain)
	remote, err := client.PartnerPublicKey(ctx, cfg.Tesla.Domain)
	switch {
	case err != nil:
		fmt.Fprintf(w, "  ✗ read back the registered key: %v\n    fix: %s\n", err, registerRemedy(cfg, err))
		return false
	case local == nil:
		fmt.Fprintln(w, "  ? registered key read back; set tesla.private_key_file to compare it with yours")
	case !fleet.SamePublicKey(remote, local):
		fmt.Fprintf(w, "  ✗ Tesla holds another public key for %s than %s\n    fix: host the public half of your private key at %s, then run register again\n",
			cfg.Tesla.Domain, cfg.Tesla.PrivateKeyFile, publicKeyURL(cfg))
		return false
	default:
		fmt.Fprintln(w, "  ✓ registered public key matches your private key")
	}
	return true
}

// registerRemedy explains the usual registration failures (PEERS.md §3.5).
func registerRemedy(cfg *config.Config, err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, fleet.ErrNotRegistered):
		return "HTTP 412: the app is not registered in this region yet; run tesla2mqtt register again and check that the domain matches the app's allowed origin on developer.tesla.com"
	case strings.Contains(msg, "already been taken"):
		return "this public key (or domain) is already registered by another app; each app needs its own domain and key"
	case strings.Contains(msg, "public key"), strings.Contains(msg, "download"):
		return "Tesla could not fetch your key: host public-key.pem at " + publicKeyURL(cfg) + " over HTTPS, directly (no redirects)"
	case strings.Contains(msg, "does not have access"), errors.Is(err, fleet.ErrNotFound):
		return "the domain is not registered for this app in this region; run tesla2mqtt register -c FILE"
	case errors.Is(err, fleet.ErrUnauthorized), errors.Is(err, fleet.ErrLoginRequired):
		return "the partner token was refused: check tesla.client_id and the client secret"
	}
	return "check tesla.domain against the app's allowed origin on developer.tesla.com"
}

// publicKeyURL is tesla.public_key_url or Tesla's well-known location.
func publicKeyURL(cfg *config.Config) string {
	if cfg.Tesla.PublicKeyURL != "" {
		return cfg.Tesla.PublicKeyURL
	}
	return fleet.PublicKeyURL(cfg.Tesla.Domain)
}
