package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// TestCommandProxyIsBilled sends a command through command_proxy_url (a
// tesla-http-proxy, played by fleetsim): it costs money like any other
// command, so it must reach the recorders the budget and metrics hang on.
func TestCommandProxyIsBilled(t *testing.T) {
	sim := fleetsim.New(fleetsim.Options{})
	proxy := httptest.NewServer(sim)
	t.Cleanup(proxy.Close)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.Tesla.CommandProxyURL = proxy.URL
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: sim.MintToken(config.DefaultScopes, time.Hour)})
	api, err := fleet.New(fleet.Options{BaseURL: proxy.URL, TokenSource: tokens, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	meter := fleet.NewMeter()
	cmdr, err := newCommander(&cfg, wiring{tokens: tokens}, nil, api, meter)
	if err != nil {
		t.Fatal(err)
	}
	defer cmdr.Close()
	res, err := cmdr.VehicleCommand(context.Background(), "5YJ3E1EA7PF000001", fleet.Command{Name: "door_lock"})
	if err != nil || !res.Result {
		t.Fatalf("door_lock through the proxy: %+v, %v", res, err)
	}
	if got := meter.Billable(); len(got) != 1 || got[fleet.CategoryCommand] != 1 {
		t.Fatalf("metered %v, want the one billable command", got)
	}
	if usd := meter.Spend(prices(&cfg))[fleet.CategoryCommand]; usd != cfg.Prices.Command {
		t.Errorf("the proxied command costs $%g, want the configured command price $%g", usd, cfg.Prices.Command)
	}
}

// TestOnePriceTable keeps the config's default [prices] and fleet's
// DefaultPrices the same table.
func TestOnePriceTable(t *testing.T) {
	cfg := config.Default()
	if got, want := prices(&cfg), fleet.DefaultPrices(); got != want {
		t.Errorf("config defaults price %+v, fleet.DefaultPrices %+v", got, want)
	}
}
