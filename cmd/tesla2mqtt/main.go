// Command tesla2mqtt bridges a Tesla account (cars and energy sites, through
// Tesla's Fleet API) to MQTT, with Home Assistant discovery.
//
// This package only wires: flags, config, loggers and the construction of the
// fleet, mqtt and bridge packages. Logic lives in those packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// exitError carries an exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr is exit code 2 with a message: bad flags, bad config, port in use.
func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// subcommand is one subcommand.
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]subcommand{
	"run":          {"run the bridge with a config file", cmdRun},
	"addon":        {"run as a Home Assistant add-on (options and MQTT broker from the Supervisor)", cmdAddon},
	"demo":         {"run a simulated account, an embedded broker and the bridge (no Tesla account needed)", cmdDemo},
	"fleetsim":     {"serve the Fleet API simulator over HTTP", cmdFleetsim},
	"check-config": {"check a config file and print every problem", cmdCheckConfig},
	"login":        {"sign in to Tesla and store the token", cmdLogin},
	"keygen":       {"create the app's key pair for signed commands", cmdKeygen},
	"register":     {"register the app's domain with Tesla in each region", cmdRegister},
	"doctor":       {"check config, token, scopes, region, registration and key pairing", cmdDoctor},
	"version":      {"print the version", cmdVersion},
	"bench":        {"compare polling policies over a simulated day (bench economy); measure the daemon at scale (bench scale)", cmdBench},
	"healthcheck":  {"ask a running bridge's /healthz (exit 0 when healthy)", cmdHealthcheck},
	"telemetry":    {"configure Fleet Telemetry on the cars; status, errors, remove", cmdTelemetry},
	"ble":          {"Bluetooth: scan for cars in range, pair the app's key with a car", cmdBLE},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and turns its error into an exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tesla2mqtt: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal exits at once, for a user whose shutdown hangs. The
	// watch ends with the subcommand.
	finished := make(chan struct{})
	watched := make(chan struct{})
	defer func() { close(finished); <-watched }()
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
		case <-finished:
			return
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		select {
		case <-ch:
			fmt.Fprintln(stderr, "tesla2mqtt: second signal, exiting now")
			os.Exit(130)
		case <-finished:
		}
	}()
	err := cmd.run(ctx, args[1:], stdout, stderr)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "tesla2mqtt:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "tesla2mqtt:", err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tesla2mqtt <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'tesla2mqtt <command> --help' for the flags of a command.")
}
