package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// sigkillEnv tells the test binary, started again as a child, to play a
// bridge that refreshes its token as fast as it can.
const sigkillEnv = "TESLA2MQTT_SIGKILL_CHILD"

// The kills: the bridge's token code (openAccount: the rotating file store
// and token source that `run` uses) refreshes against fleetsim in a loop
// and is killed with SIGKILL at a random moment, again and again. After
// every kill the token file is whole and 0600, and the next process
// refreshes with it and uses the new token: the refresh lineage survives
// (one login for the whole test; a lost rotation would need a new one).
func TestSIGKILLDuringTokenRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100+ processes; skipped with -short")
	}
	const kills = 120
	// Strict: a used refresh token is dead at once, so a rotation the
	// bridge used before it was saved is a lost login, not a grace retry.
	sim := fleetsim.New(fleetsim.Options{StrictRefresh: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := sigkillConfig(dir, srv.URL)
	if _, err := loginHeadless(t.Context(), loginParams{cfg: cfg, configPath: "test", out: io.Discard, now: time.Now}); err != nil {
		t.Fatalf("login: %v", err)
	}
	store := fleet.NewFileTokenStore(dir)
	_, refreshes0 := sim.AuthStats()
	start := time.Now()
	for i := range kills + 1 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLChild$")
		cmd.Env = append(os.Environ(), sigkillEnv+"="+dir+"|"+srv.URL)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		// The first "ok": this process refreshed with the token the last
		// one left and read the account with the new access token.
		if !lines.Scan() || lines.Text() != "ok" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("restart %d: the token did not work: %q\n%s", i, lines.Text(), stderr.String())
		}
		if i == kills {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			break
		}
		// Kill at a random moment of the refresh loop that follows.
		time.AfterFunc(time.Duration(rand.IntN(20000))*time.Microsecond, func() { _ = cmd.Process.Signal(os.Kill) })
		go func() { _, _ = io.Copy(io.Discard, out) }()
		_ = cmd.Wait()
		if tok, err := store.Load(); err != nil || tok.RefreshToken == "" {
			t.Fatalf("after kill %d the token file is unusable: %v", i, err)
		}
		if fi, err := os.Stat(store.Path()); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("after kill %d the token file mode is %v (%v)", i, fi.Mode(), err)
		}
	}
	exchanges, refreshes := sim.AuthStats()
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".token-*.tmp"))
	t.Logf("%d SIGKILLs in %s: %d refreshes, %d login, %d temp files left", kills, time.Since(start).Round(time.Millisecond),
		refreshes-refreshes0, exchanges, len(leftovers))
	if exchanges != 1 {
		t.Fatalf("%d logins: a refresh lineage was lost and had to start again", exchanges)
	}
	if refreshes-refreshes0 < kills {
		t.Fatalf("only %d refreshes in %d runs", refreshes-refreshes0, kills)
	}
}

func sigkillConfig(dir, simURL string) *config.Config {
	cfg := config.Default()
	cfg.StateDir = dir
	cfg.Tesla.ClientID, cfg.Tesla.ClientSecret = fleetsim.ClientID, "fleetsim-secret"
	cfg.Tesla.APIBaseURL, cfg.Tesla.AuthBaseURL = simURL, simURL
	cfg.Tesla.RedirectURI = "http://127.0.0.1:8099/callback"
	return &cfg
}

// TestSIGKILLChild is the child process of TestSIGKILLDuringTokenRefresh;
// it does nothing in a normal test run.
func TestSIGKILLChild(t *testing.T) {
	env := os.Getenv(sigkillEnv)
	if env == "" {
		t.Skip("child process of TestSIGKILLDuringTokenRefresh")
	}
	dir, simURL, _ := strings.Cut(env, "|")
	cfg := sigkillConfig(dir, simURL)
	// The clock jumps past the token's expiry before every call, so each
	// call refreshes: hours of rotations in milliseconds.
	store := fleet.NewFileTokenStore(dir)
	tok, err := store.Load()
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(3)
	}
	clk := clock.NewManual(tok.Expiry.Add(time.Hour))
	acct, err := openAccount(cfg, "test", clk, zerolog.Nop())
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	api, err := fleet.New(fleet.Options{BaseURL: simURL, TokenSource: acct.ts, Timeout: 5 * time.Second})
	if err != nil {
		os.Exit(3)
	}
	for {
		before := acct.ts.Current().RefreshToken
		if _, err := api.Vehicles(context.Background()); err != nil {
			fmt.Println("vehicles:", err)
			os.Exit(4)
		}
		if acct.ts.Current().RefreshToken == before {
			fmt.Println("no refresh happened")
			os.Exit(5)
		}
		fmt.Println("ok")
		clk.Advance(9 * time.Hour)
	}
}
