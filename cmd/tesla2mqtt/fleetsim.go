package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
)

func cmdFleetsim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleetsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the simulated Fleet API on")
	speed := fs.Float64("speed", 1, "simulated time runs this many times faster than real time")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tesla2mqtt fleetsim [--addr ADDR] [--speed N]\n\nServes the Fleet API simulator over HTTP for manual and scripted tests.\nPoint tesla.api_base_url at it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if *speed <= 0 {
		return usageErr("--speed must be > 0")
	}
	log := newLogger(stderr, "info", "auto")
	sim, err := startSimulator(*addr, *speed, log)
	if err != nil {
		return err
	}
	defer sim.close()
	token := sim.sim.MintToken(config.DefaultScopes, 8*time.Hour)
	fmt.Fprintf(stdout, `fleetsim serving the Fleet API at %s
A test token with every scope, valid 8 simulated hours (it is the simulator's, not Tesla's):
  %s
Try:
  curl -H "Authorization: Bearer $TOKEN" %s/api/1/vehicles
`, sim.URL, token, sim.URL)
	<-ctx.Done()
	return nil
}
