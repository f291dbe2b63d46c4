package fleet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/internal/leakcheck"
)

const (
	vinRest     = "5YJ3E1EA7PF000001" // "Red Three": REST allowed
	vinSigned   = "7SAYGDEE1PF000002" // "Blue Y": signing required
	vinUnpaired = "7SAYGDEE1PF000003" // added: signing required, key not paired
)

// swapTokens hands out the current token; tests swap it to play a refresh.
type swapTokens struct {
	mu  sync.Mutex
	tok string
}

func (s *swapTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &oauth2.Token{AccessToken: s.tok, TokenType: "Bearer"}, nil
}

func (s *swapTokens) set(tok string) {
	s.mu.Lock()
	s.tok = tok
	s.mu.Unlock()
}

type signedEnv struct {
	sim    *fleetsim.Sim
	clock  *clock.Manual
	client *fleet.Client
	tokens *swapTokens
	key    *ecdsa.PrivateKey
	dir    string
}

// newSignedEnv serves a fleetsim whose "Blue Y" is online and paired with
// a fresh app key, plus an online car that requires signing and is not paired.
func newSignedEnv(t *testing.T) *signedEnv {
	t.Helper()
	clock := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.SetAppPublicKey(fleet.PublicKeyPEM(key)); err != nil {
		t.Fatal(err)
	}
	sim.SetKeyPaired(vinSigned, true)
	if err := sim.SetVehicleState(vinSigned, fleet.StateOnline); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddVehicle(vinUnpaired, "Grey Y", func(v *fleetsim.VehicleSnapshot) { v.State = fleet.StateOnline }); err != nil {
		t.Fatal(err)
	}
	tokens := &swapTokens{tok: sim.MintToken(fleet.DefaultScopes(), time.Hour)}
	client, err := fleet.New(fleet.Options{BaseURL: srv.URL, TokenSource: tokens})
	if err != nil {
		t.Fatal(err)
	}
	return &signedEnv{sim: sim, clock: clock, client: client, tokens: tokens, key: key, dir: t.TempDir()}
}

func (e *signedEnv) commander(t *testing.T, key *ecdsa.PrivateKey) *fleet.Commander {
	t.Helper()
	cm, err := fleet.NewCommander(fleet.CommanderOptions{Client: e.client, PrivateKey: key, StateDir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cm.Close)
	return cm
}

func TestSignedCommandChangesThePairedCar(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	ctx := context.Background()

	res, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 75}})
	if err != nil || !res.Result {
		t.Fatalf("set_charge_limit = %+v, %v; want result true", res, err)
	}
	if got := e.sim.Snapshot(vinSigned).ChargeLimit; got != 75 {
		t.Errorf("charge limit = %v, want 75", got)
	}
	// VCSEC carries locks: the other domain of the same session.
	if res, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "door_unlock"}); err != nil || !res.Result {
		t.Fatalf("door_unlock = %+v, %v", res, err)
	}
	if e.sim.Snapshot(vinSigned).Locked {
		t.Error("the car is still locked")
	}
	counts := e.sim.Counts()
	// One handshake per domain, then one round trip per command; no REST try.
	if counts["signed_command"] != 4 || counts["command"] != 0 {
		t.Errorf("signed_command=%d command=%d, want 4 and 0", counts["signed_command"], counts["command"])
	}
	fi, err := os.Stat(filepath.Join(e.dir, fleet.SessionCacheFile))
	if err != nil {
		t.Fatalf("session cache not written: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("session cache mode = %v, want 0600", fi.Mode().Perm())
	}
	if tmps, _ := filepath.Glob(filepath.Join(e.dir, "*.tmp")); len(tmps) > 0 {
		t.Errorf("session cache writes left temp files: %v", tmps)
	}
	if tmps, _ := filepath.Glob(filepath.Join(e.dir, ".*.tmp")); len(tmps) > 0 {
		t.Errorf("session cache writes left temp files: %v", tmps)
	}

	// A restarted bridge resumes from the cache: no new handshake.
	cm.Close()
	again := e.commander(t, e.key)
	if res, err := again.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 80}}); err != nil || !res.Result {
		t.Fatalf("after restart: %+v, %v", res, err)
	}
	if n := e.sim.Counts()["signed_command"]; n != 5 {
		t.Errorf("signed_command = %d after restart, want 5 (no handshake)", n)
	}
}

func TestSignedCommandSurvivesTokenRefresh(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	ctx := context.Background()
	if _, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "flash_lights"}); err != nil {
		t.Fatal(err)
	}
	// The old token expires and a refreshed one takes its place.
	e.tokens.set(e.sim.MintToken(fleet.DefaultScopes(), 8*time.Hour))
	e.clock.Advance(2 * time.Hour)
	if err := e.sim.SetVehicleState(vinSigned, fleet.StateOnline); err != nil { // it slept meanwhile
		t.Fatal(err)
	}
	res, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "honk_horn"})
	if err != nil || !res.Result {
		t.Fatalf("after refresh: %+v, %v", res, err)
	}
	if s := e.sim.Snapshot(vinSigned); s.Flashes != 1 || s.Honks != 1 {
		t.Errorf("flashes=%d honks=%d, want 1 and 1", s.Flashes, s.Honks)
	}
}

func TestSignedCommandUnpairedKey(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	before := e.sim.Snapshot(vinUnpaired).ChargeLimit
	_, err := cm.VehicleCommand(context.Background(), vinUnpaired, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 60}})
	if !errors.Is(err, fleet.ErrKeyNotPaired) {
		t.Fatalf("err = %v, want ErrKeyNotPaired", err)
	}
	if want := "vehicle rejected request: your public key has not been paired with the vehicle"; err.Error() != want {
		t.Errorf("message = %q, want the SDK's %q", err.Error(), want)
	}
	if got := e.sim.Snapshot(vinUnpaired).ChargeLimit; got != before {
		t.Errorf("charge limit changed to %v", got)
	}
	// The user approves the key in the car: the next command goes through.
	e.sim.SetKeyPaired(vinUnpaired, true)
	if res, err := cm.VehicleCommand(context.Background(), vinUnpaired, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 60}}); err != nil || !res.Result {
		t.Fatalf("after pairing: %+v, %v", res, err)
	}
}

func TestSignedCommandWrongKeyIsNotPaired(t *testing.T) {
	e := newSignedEnv(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err := e.commander(t, other).VehicleCommand(context.Background(), vinSigned, fleet.Command{Name: "flash_lights"})
	if !errors.Is(err, fleet.ErrKeyNotPaired) {
		t.Fatalf("err = %v, want ErrKeyNotPaired for a key the car does not know", err)
	}
}

func TestSignedCommandRefusalIsAResult(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	limit := e.sim.Snapshot(vinSigned).ChargeLimit
	res, err := cm.VehicleCommand(context.Background(), vinSigned, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": limit}})
	if err != nil {
		t.Fatalf("err = %v, want a refusal result", err)
	}
	if res.Result || res.Reason != "car could not execute command: already_set" {
		t.Errorf("result = %+v, want false with the car's reason", res)
	}
}

func TestRESTForbiddenSwitchesToSigned(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	cm.SetSigningRequired(vinSigned, false) // e.g. a stale vehicle list said "allowed"
	res, err := cm.VehicleCommand(context.Background(), vinSigned, fleet.Command{Name: "set_charge_limit", Params: map[string]any{"percent": 70}})
	if err != nil || !res.Result {
		t.Fatalf("= %+v, %v; want the signed retry to succeed", res, err)
	}
	if got := e.sim.Snapshot(vinSigned).ChargeLimit; got != 70 {
		t.Errorf("charge limit = %v, want 70", got)
	}
	if !cm.SignsCommands(vinSigned) {
		t.Error("the car did not switch to signed commands")
	}
	if n := e.sim.Counts()["command"]; n != 1 {
		t.Errorf("REST commands = %d, want exactly the one refused", n)
	}
}

func TestProtocolNotSupportedSwitchesToREST(t *testing.T) {
	e := newSignedEnv(t)
	if err := e.sim.Update(vinRest, func(v *fleetsim.VehicleSnapshot) { v.CommandSigning = "off" }); err != nil {
		t.Fatal(err)
	}
	cm := e.commander(t, e.key)
	cm.SetSigningRequired(vinRest, true)
	res, err := cm.VehicleCommand(context.Background(), vinRest, fleet.Command{Name: "honk_horn"})
	if err != nil || !res.Result {
		t.Fatalf("= %+v, %v", res, err)
	}
	if cm.SignsCommands(vinRest) || e.sim.Snapshot(vinRest).Honks != 1 {
		t.Error("the car did not switch to REST or the horn did not honk")
	}
}

func TestRESTCarTakesREST(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	if res, err := cm.VehicleCommand(context.Background(), vinRest, fleet.Command{Name: "honk_horn"}); err != nil || !res.Result {
		t.Fatalf("= %+v, %v", res, err)
	}
	if c := e.sim.Counts(); c["command"] != 1 || c["signed_command"] != 0 {
		t.Errorf("command=%d signed_command=%d, want REST only", c["command"], c["signed_command"])
	}
}

func TestSigningRequiredWithoutKey(t *testing.T) {
	e := newSignedEnv(t)
	_, err := e.commander(t, nil).VehicleCommand(context.Background(), vinSigned, fleet.Command{Name: "honk_horn"})
	if !errors.Is(err, fleet.ErrSigningRequired) {
		t.Fatalf("err = %v, want ErrSigningRequired", err)
	}
}

func TestSignedCommandResynchronisesAfterCarReboot(t *testing.T) {
	e := newSignedEnv(t)
	cm := e.commander(t, e.key)
	ctx := context.Background()
	if _, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "flash_lights"}); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetVehicleSessions() // new epoch: the car answers with fresh session info
	if res, err := cm.VehicleCommand(ctx, vinSigned, fleet.Command{Name: "flash_lights"}); err != nil || !res.Result {
		t.Fatalf("after reboot: %+v, %v", res, err)
	}
	if n := e.sim.Snapshot(vinSigned).Flashes; n != 2 {
		t.Errorf("flashes = %d, want 2 (no double run)", n)
	}
}

// TestCommanderRunOwnsTheSDKGoroutines: the SDK runs a dispatcher per car;
// Run ends them when its context ends, and later commands fail cleanly
// instead of starting new ones.
func TestCommanderRunOwnsTheSDKGoroutines(t *testing.T) {
	leakcheck.Check(t) // first, so that it runs after the server's cleanup
	e := newSignedEnv(t)
	cm, err := fleet.NewCommander(fleet.CommanderOptions{Client: e.client, PrivateKey: e.key, StateDir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cm.Run(ctx) }()
	for _, vin := range []string{vinSigned, vinUnpaired} { // one car answers, one refuses the key
		_, _ = cm.VehicleCommand(context.Background(), vin, fleet.Command{Name: "flash_lights"})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if _, err := cm.VehicleCommand(context.Background(), vinSigned, fleet.Command{Name: "flash_lights"}); !errors.Is(err, fleet.ErrClosed) {
		t.Errorf("command after Run ended: %v, want ErrClosed", err)
	}
	cm.Close() // idempotent
}
