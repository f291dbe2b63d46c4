package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

func cmdFleetsim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fleetsim", "usage: tesla2mqtt fleetsim [--addr ADDR] [--speed N] [--app-key FILE] [--pair VINS|all] [--grant-scopes LIST]\n       [--unregistered] [--wrong-region URL] [--revoke-after D] [--offline VINS] [--token-ttl D]\n\nServes the Fleet API simulator over HTTP for manual and scripted tests: the Fleet\nAPI, Tesla's OAuth endpoints (login consents at once), partner registration,\nfleet_status and, with --app-key, the domain's .well-known public key.", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the simulated Fleet API on")
	speed := fs.Float64("speed", 1, "simulated time runs this many times faster than real time")
	grant := fs.String("grant-scopes", "", "comma-separated scopes the simulated consent screen grants (default: every scope requested), to try partial consent")
	pair := fs.String("pair", "", `VINs (comma-separated, or "all") whose cars have the app's key paired, as if the user had approved it in the Tesla app`)
	appKey := fs.String("app-key", "", "the app's key (private key PEM from keygen, or its public-key.pem): fleetsim then plays the app's domain too")
	unregistered := fs.Bool("unregistered", false, "answer 412 (app not registered in this region) to every user call until 'tesla2mqtt register' registers a domain")
	wrongRegion := fs.String("wrong-region", "", "answer 421 naming this base URL to every user call, for good (an account in another region)")
	revokeAfter := fs.Duration("revoke-after", 0, "revoke every login after this much simulated time, as a password change does: access tokens answer 401 and refreshes login_required")
	offline := fs.String("offline", "", `VINs (comma-separated, or "all") whose cars are offline (no connection) rather than asleep`)
	tokenTTL := fs.Duration("token-ttl", 0, "lifetime of the access tokens the token endpoint issues (default 8h)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *speed <= 0 {
		return usageErr("--speed must be > 0")
	}
	if *revokeAfter < 0 || *tokenTTL < 0 {
		return usageErr("--revoke-after and --token-ttl must not be negative")
	}
	var pub []byte
	if *appKey != "" {
		var err error
		if pub, err = readAppPublicKey(*appKey); err != nil {
			return usageErr("--app-key: %v", err)
		}
	}
	log := newLogger(stderr, "info", "auto")
	sim, err := startSimulator(*addr, *speed, log, func(o *fleetsim.Options) { o.AccessTokenTTL = *tokenTTL })
	if err != nil {
		return err
	}
	defer sim.close()
	if err := playDeadEnds(ctx, sim, *unregistered, *wrongRegion, *offline, *revokeAfter); err != nil {
		return err
	}
	if *grant != "" {
		var scopes []string
		for _, sc := range strings.Split(*grant, ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				scopes = append(scopes, sc)
			}
		}
		sim.sim.SetGrantedScopes(scopes)
	}
	for _, vin := range strings.Split(*pair, ",") {
		switch vin = strings.TrimSpace(vin); vin {
		case "":
		case "all":
			for _, v := range sim.sim.VINs() {
				sim.sim.SetKeyPaired(v, true)
			}
		default:
			sim.sim.SetKeyPaired(vin, true)
		}
	}
	if pub != nil {
		if err := sim.sim.SetAppPublicKey(pub); err != nil {
			return usageErr("--app-key: %v", err)
		}
	}
	token := sim.sim.MintToken(config.DefaultScopes, 8*time.Hour)
	fmt.Fprintf(stdout, `fleetsim serving the Fleet API at %s
A test token with every scope, valid 8 simulated hours (it is the simulator's, not Tesla's):
  %s
Try:
  curl -H "Authorization: Bearer $TOKEN" %s/api/1/vehicles

To try login, register and doctor against it, put in the [tesla] table:
  api_base_url   = "%s"
  auth_base_url  = "%s"
  public_key_url = "%s/.well-known/appspecific/com.tesla.3p.public-key.pem"
(any client_id and client_secret work; login consents at once, so
'tesla2mqtt login --no-browser' plus 'curl -L <printed URL>' completes it).
`, sim.URL, token, sim.URL, sim.URL, sim.URL, sim.URL)
	if pub == nil {
		fmt.Fprintln(stdout, "No --app-key: the .well-known key and partner registration answer as if the domain had no key.")
	}
	<-ctx.Done()
	return nil
}

// playDeadEnds sets up the account-level dead ends and offline cars the
// flags ask for; a revocation waits its simulated time on a goroutine that
// ends with ctx.
func playDeadEnds(ctx context.Context, sim *simulator, unregistered bool, wrongRegion, offline string, revokeAfter time.Duration) error {
	sim.sim.RequireRegistration(unregistered)
	if wrongRegion != "" {
		if !strings.HasPrefix(wrongRegion, "https://") && !strings.HasPrefix(wrongRegion, "http://") {
			return usageErr("--wrong-region must be a base URL such as %s", fleet.BaseURLEU)
		}
		sim.sim.SetWrongRegion(wrongRegion)
	}
	for _, vin := range strings.Split(offline, ",") {
		switch vin = strings.TrimSpace(vin); vin {
		case "":
		case "all":
			for _, v := range sim.sim.VINs() {
				_ = sim.sim.SetVehicleState(v, fleet.StateOffline)
			}
		default:
			if err := sim.sim.SetVehicleState(vin, fleet.StateOffline); err != nil {
				return usageErr("--offline: %v", err)
			}
		}
	}
	if revokeAfter > 0 {
		go func() {
			if sim.clock.Sleep(ctx, revokeAfter) == nil {
				sim.sim.RevokeTokens()
			}
		}()
	}
	return nil
}

// readAppPublicKey reads a private key (its public half is used) or a
// public key PEM.
func readAppPublicKey(path string) ([]byte, error) {
	if priv, err := fleet.LoadPrivateKey(path); err == nil {
		return fleet.PublicKeyPEM(priv), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if fleet.PublicKeyHex(data) == "" {
		return nil, fmt.Errorf("%s is neither a P-256 private key (mode 0600) nor a public key PEM", path)
	}
	return data, nil
}
