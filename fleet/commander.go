package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/teslamotors/vehicle-command/pkg/protocol"
	"github.com/teslamotors/vehicle-command/pkg/proxy"
)

// CommanderOptions configure a Commander.
type CommanderOptions struct {
	// Client sends REST commands, fleet_status and signed_command. Required.
	Client *Client
	// PrivateKey is the app's key paired with the cars; nil means cars
	// that need signing answer ErrSigningRequired.
	PrivateKey *ecdsa.PrivateKey
	// StateDir keeps the session cache (SessionCacheFile); "" keeps it in memory.
	StateDir string
	// Proxy, when set, receives every vehicle command as REST: a
	// tesla-http-proxy the user already runs signs them instead of us.
	Proxy *Client
	// Timeout bounds one signed command including its handshake (default
	// 30 s): the SDK retries "busy" answers until its context ends.
	Timeout time.Duration
}

// pathMode is how a car takes commands.
type pathMode int

const (
	pathUnknown pathMode = iota
	pathREST
	pathSigned
)

// Commander sends vehicle commands by the path each car needs: REST for
// cars that accept it (pre-2021 Model S/X), signed end to end with the
// vehicle-command SDK for the others. Callers speak only the Fleet API's
// REST vocabulary (Command); the path is chosen per car and learnt from
// fleet_status, a 403 "protocol required" or the SDK's "protocol not
// supported". It is safe for concurrent use.
type Commander struct {
	c      *Client
	proxy  *Client
	signer *signer // nil without a private key

	mu     sync.Mutex
	modes  map[string]pathMode
	closed bool
}

// NewCommander builds a Commander; it reads the session cache but sends nothing.
func NewCommander(opts CommanderOptions) (*Commander, error) {
	if opts.Client == nil {
		return nil, errors.New("fleet: Commander needs a Client")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	cm := &Commander{c: opts.Client, proxy: opts.Proxy, modes: map[string]pathMode{}}
	if opts.PrivateKey != nil {
		s, err := newSigner(opts.Client, opts.PrivateKey, opts.StateDir, opts.Timeout)
		if err != nil {
			return nil, err
		}
		cm.signer = s
	}
	return cm, nil
}

// Run holds the Commander open until ctx ends, then closes it, so that the
// program's run group owns its goroutines like every other component's.
// It always returns nil.
func (cm *Commander) Run(ctx context.Context) error {
	<-ctx.Done()
	cm.Close()
	return nil
}

// Close waits for signed commands in flight (each bounded by
// CommanderOptions.Timeout), then ends the vehicle-command SDK's
// per-car dispatchers, whose goroutines would otherwise live as long as the
// process; the session cache stays on disk. Later commands fail with
// ErrClosed. Close is idempotent.
func (cm *Commander) Close() {
	cm.mu.Lock()
	cm.closed = true
	cm.mu.Unlock()
	if cm.signer != nil {
		cm.signer.close()
	}
}

// SetSigningRequired records what fleet_status or the vehicle list said
// about vin, so the first command takes the right path at once.
func (cm *Commander) SetSigningRequired(vin string, required bool) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	if required {
		cm.modes[vin] = pathSigned
	} else {
		cm.modes[vin] = pathREST
	}
}

// CanSign reports whether a car that only takes signed commands can get
// one from here: a private key is configured, or a command proxy signs.
// Without either, waking such a car for a command is a wake wasted.
func (cm *Commander) CanSign() bool { return cm.signer != nil || cm.proxy != nil }

// SignsCommands reports whether commands to vin currently go signed.
func (cm *Commander) SignsCommands(vin string) bool {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	return cm.modes[vin] == pathSigned
}

// VehicleCommand sends cmd to vin. A refusal by the car is a CommandResult
// with Result false and the car's reason, not an error. Errors are the
// package's sentinels: ErrKeyNotPaired, ErrMayHaveSucceeded,
// ErrSigningRequired, or a REST *APIError.
func (cm *Commander) VehicleCommand(ctx context.Context, vin string, cmd Command) (*CommandResult, error) {
	cm.mu.Lock()
	closed := cm.closed
	cm.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if cm.proxy != nil {
		res, err := cm.proxy.Command(ctx, vin, cmd.Name, cmd.Params)
		return res, proxyError(err)
	}
	if cmd.Name == "wake_up" {
		// The SDK's wake over the internet is the same REST call.
		if _, err := cm.c.WakeUp(ctx, vin); err != nil {
			return nil, err
		}
		return &CommandResult{Result: true}, nil
	}
	if cm.mode(ctx, vin) == pathSigned {
		res, err := cm.signed(ctx, vin, cmd)
		if !errors.Is(err, protocol.ErrProtocolNotSupported) {
			return res, err
		}
		// 422: nothing reached the car, so REST may send it again.
		cm.setMode(vin, pathREST)
	}
	res, err := cm.c.Command(ctx, vin, cmd.Name, cmd.Params)
	if errors.Is(err, ErrProtocolRequired) {
		// 403: the car refused REST without running anything; retry once, signed.
		cm.setMode(vin, pathSigned)
		if cm.signer == nil {
			return nil, fmt.Errorf("%w (%w)", ErrSigningRequired, err)
		}
		return cm.signed(ctx, vin, cmd)
	}
	return res, err
}

// signed sends cmd through the SDK and maps its outcome.
func (cm *Commander) signed(ctx context.Context, vin string, cmd Command) (*CommandResult, error) {
	if cm.signer == nil {
		return nil, ErrSigningRequired
	}
	err := cm.signer.run(ctx, vin, cmd)
	if errors.Is(err, proxy.ErrCommandUseRESTAPI) {
		// navigation_request, set_managed_*: Tesla takes these as REST only.
		return cm.c.Command(ctx, vin, cmd.Name, cmd.Params)
	}
	if errors.Is(err, protocol.ErrProtocolNotSupported) {
		return nil, err
	}
	return mapSigned(err)
}

// mode returns vin's path, asking fleet_status (free) the first time. When
// that fails REST is tried: a 403 switches the car to signed anyway.
func (cm *Commander) mode(ctx context.Context, vin string) pathMode {
	cm.mu.Lock()
	m := cm.modes[vin]
	cm.mu.Unlock()
	if m != pathUnknown {
		return m
	}
	m = pathREST
	if fs, err := cm.c.FleetStatus(ctx, []string{vin}); err == nil {
		if info, ok := fs.VehicleInfo[vin]; ok && info.VehicleCommandProtocolRequired {
			m = pathSigned
		}
	}
	cm.setMode(vin, m)
	return m
}

func (cm *Commander) setMode(vin string, m pathMode) {
	cm.mu.Lock()
	cm.modes[vin] = m
	cm.mu.Unlock()
}

// proxyError recognises tesla-http-proxy's 500 for an unpaired key, whose
// only trace is the SDK's text in "error" (FLEET_API.md §4.4).
func proxyError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && strings.Contains(ae.Message, ErrKeyNotPaired.Error()) {
		return ErrKeyNotPaired
	}
	return err
}

// HTTPClientWithCA returns an HTTP client that also trusts the PEM
// certificates in caFile, for a command proxy with a self-signed
// certificate. An empty caFile gives a plain client.
func HTTPClientWithCA(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{Transport: pooledTransport()}, nil
	}
	pemData, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("command proxy CA: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("command proxy CA: %s holds no PEM certificate", caFile)
	}
	tr := pooledTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}
