package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	fleetble "github.com/tesla2mqtt/tesla2mqtt/fleet/ble"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// bleEnv is what the ble subcommands need from the machine: the adapter
// and the clock. cmdBLE passes the real ones; tests pass fleetsim's radio
// and a manual clock.
type bleEnv struct {
	radio   func(adapter string) (fleet.BLERadio, func())
	beacons func(ctx context.Context, adapter string) ([]fleet.BLEBeacon, error)
	clock   clock.Clock
}

func realBLEEnv() bleEnv {
	return bleEnv{
		radio: func(adapter string) (fleet.BLERadio, func()) {
			r := fleetble.New(adapter)
			return r, func() { _ = r.Close() }
		},
		beacons: fleetble.Beacons,
		clock:   clock.Real(),
	}
}

const bleUsage = `usage: tesla2mqtt ble <scan|pair> [flags]

  scan   list the cars whose Bluetooth beacon this machine sees, with RSSI
  pair   pair the app's key with a car over Bluetooth (key-card tap in the car)

Bluetooth needs Linux, an adapter and CAP_NET_ADMIN/CAP_NET_RAW; see docs/ble.md.`

func cmdBLE(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runBLE(ctx, realBLEEnv(), args, stdout, stderr)
}

func runBLE(ctx context.Context, env bleEnv, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, bleUsage)
		return &exitError{code: 2, err: fmt.Errorf("")}
	}
	switch args[0] {
	case "scan":
		return bleScan(ctx, env, args[1:], stdout, stderr)
	case "pair":
		return blePair(ctx, env, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, bleUsage)
		return nil
	}
	fmt.Fprintln(stderr, bleUsage)
	return usageErr("ble: unknown subcommand %q", args[0])
}

// vinFlag collects repeated --vin flags.
type vinFlag []string

func (v *vinFlag) String() string     { return strings.Join(*v, ",") }
func (v *vinFlag) Set(s string) error { *v = append(*v, strings.TrimSpace(s)); return nil }

var vinRE = regexp.MustCompile(`^[A-HJ-NPR-Z0-9]{17}$`)

func bleScan(ctx context.Context, env bleEnv, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ble scan", "usage: tesla2mqtt ble scan [-c FILE] [--vin VIN]... [--adapter hciN] [--timeout 10s]\n\n"+
		"Listens for the Bluetooth beacons of Tesla cars and lists them, strongest first, with their\n"+
		"RSSI. A car advertises a name made from its VIN, so cars of the config (-c) and --vin are named;\n"+
		"other cars show as unknown. Nothing is sent to any car.", stderr)
	path := fs.String("c", "", "config file: names its cars and uses their adapter")
	var vins vinFlag
	fs.Var(&vins, "vin", "a VIN to look for (repeatable)")
	adapter := fs.String("adapter", "", "Bluetooth adapter, e.g. hci0 (default: the config's, else the first)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to listen")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var cfg *config.Config
	if *path != "" {
		c, err := loadConfig(*path)
		if err != nil {
			return err
		}
		cfg = c
		if *adapter == "" {
			*adapter = bleAdapter(cfg)
		}
	}
	if !fleetble.ValidAdapter(*adapter) {
		return usageErr("--adapter %q: write hci0, hci1… (see `bluetoothctl list`)", *adapter)
	}
	names := carNames(cfg)
	for _, v := range vins {
		if !vinRE.MatchString(v) {
			return usageErr("--vin %q is not a VIN (17 characters, upper case)", v)
		}
		if _, ok := names[v]; !ok {
			names[v] = ""
		}
	}
	byLocal := map[string]string{}
	for vin := range names {
		byLocal[fleet.BLELocalName(vin)] = vin
	}
	fmt.Fprintf(stdout, "Listening for Tesla beacons on %s for %s…\n", adapterLabel(*adapter), *timeout)
	sctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	beacons, err := env.beacons(sctx, *adapter)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("ble scan: %w", err)}
	}
	seen := map[string]bool{}
	for _, b := range beacons {
		car := "unknown car"
		if vin, ok := byLocal[b.LocalName]; ok {
			seen[vin] = true
			car = vin
			if n := names[vin]; n != "" {
				car += " (" + n + ")"
			}
		}
		conn := "yes"
		if !b.Connectable {
			conn = "no: the car has the most Bluetooth links it keeps"
		}
		fmt.Fprintf(stdout, "  %-28s %s  %4d dBm  connectable: %s\n", car, b.LocalName, b.RSSI, conn)
	}
	fmt.Fprintf(stdout, "%d car(s) in range.\n", len(beacons))
	var missing []string
	for vin := range names {
		if !seen[vin] {
			missing = append(missing, vin)
		}
	}
	sort.Strings(missing)
	for _, vin := range missing {
		fmt.Fprintf(stdout, "Not seen: %s — out of range, or its Bluetooth is off.\n", vin)
	}
	return nil
}

func adapterLabel(a string) string {
	if a == "" {
		return "the first Bluetooth adapter"
	}
	return a
}

func blePair(ctx context.Context, env bleEnv, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ble pair", "usage: tesla2mqtt ble pair -c FILE --vin VIN [--timeout 3m]\n\n"+
		"Pairs the app's key (tesla.private_key_file) with the car over Bluetooth: sends the add-key\n"+
		"request, then waits while you tap your key card on the center console and confirm on the\n"+
		"car's screen. Stand next to the car. A key the car already knows is left alone.", stderr)
	path := fs.String("c", "config.toml", "config file")
	vin := fs.String("vin", "", "VIN of the car (required)")
	adapter := fs.String("adapter", "", "Bluetooth adapter, e.g. hci0 (default: the config's, else the first)")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the key-card tap")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !vinRE.MatchString(*vin) {
		return usageErr("ble pair: --vin %q is not a VIN (17 characters, upper case)", *vin)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if *adapter == "" {
		*adapter = bleAdapter(cfg)
	}
	if !fleetble.ValidAdapter(*adapter) {
		return usageErr("--adapter %q: write hci0, hci1… (see `bluetoothctl list`)", *adapter)
	}
	key, err := pairingKey(cfg)
	if err != nil {
		return err
	}
	radio, closeRadio := env.radio(*adapter)
	defer closeRadio()
	car, err := fleet.NewBLEVehicle(fleet.BLEOptions{VIN: *vin, Radio: radio, PrivateKey: key, Clock: env.clock,
		Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer car.Close()
	fmt.Fprintf(stdout, "Looking for %s over Bluetooth on %s…\n", *vin, adapterLabel(*adapter))
	prompted := false
	err = car.PairKey(ctx, *timeout, 2*time.Second, func() {
		prompted = true
		fmt.Fprintf(stdout, "Sent the add-key request to %s.\n"+
			"Now tap your key card on the center console, then confirm the new key on the car's screen.\n"+
			"Waiting up to %s…\n", *vin, *timeout)
	})
	if err != nil {
		return &exitError{code: 1, err: pairError(*vin, *timeout, err)}
	}
	if !prompted {
		fmt.Fprintf(stdout, "%s already knows this app's key: nothing to do.\n", *vin)
		return nil
	}
	fmt.Fprintf(stdout, "Paired: %s accepts this app's key, over Bluetooth and the Fleet API.\n", *vin)
	return nil
}

// pairingKey loads tesla.private_key_file, the key the bridge signs with.
func pairingKey(cfg *config.Config) (*ecdsa.PrivateKey, error) {
	if cfg.Tesla.PrivateKeyFile == "" {
		return nil, &exitError{code: 2, err: errors.New("ble pair: tesla.private_key_file is empty: " +
			"create the app's key with `tesla2mqtt keygen` and set it in [tesla] first")}
	}
	key, err := fleet.LoadPrivateKey(cfg.Tesla.PrivateKeyFile)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("ble pair: %w", err)}
	}
	return key, nil
}

// pairError says what went wrong and what to do, for each way pairing fails.
func pairError(vin string, timeout time.Duration, err error) error {
	var ae *fleet.AdapterError
	switch {
	case errors.As(err, &ae):
		return fmt.Errorf("ble pair: %w", err)
	case errors.Is(err, fleet.ErrBLEPairTimeout):
		return fmt.Errorf("ble pair: no key-card tap confirmed the request within %s.\n"+
			"  Run the command again, then tap the card on the center console (not the door pillar) and "+
			"confirm on the screen; --timeout gives more time", timeout)
	case errors.Is(err, fleet.ErrBLEOutOfRange):
		return fmt.Errorf("ble pair: %s is not in Bluetooth range of this machine (%w).\n"+
			"  Bring the adapter closer, or check with `tesla2mqtt ble scan --vin %s`", vin, err, vin)
	}
	return fmt.Errorf("ble pair: %w", err)
}
