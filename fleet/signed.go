package fleet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
	"github.com/teslamotors/vehicle-command/pkg/cache"
	"github.com/teslamotors/vehicle-command/pkg/connector"
	"github.com/teslamotors/vehicle-command/pkg/connector/inet"
	"github.com/teslamotors/vehicle-command/pkg/protocol"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/universalmessage"
	"github.com/teslamotors/vehicle-command/pkg/proxy"
	"github.com/teslamotors/vehicle-command/pkg/vehicle"
)

// SessionCacheFile is the vehicle-command session cache in the state
// directory. It lets a restarted bridge skip the handshake (one billed
// signed_command round trip per car and domain).
const SessionCacheFile = "vehicle_sessions.json"

// signedConn is the SDK's transport (connector.Connector) built on Client
// instead of inet.Connection. inet.NewConnection cannot serve here: it
// hard-codes "https://"+host with a default http.Client (no fleetsim, no
// custom CA) and captures the bearer token once, so it breaks after every
// token refresh. Going through Client.do gives every signed_command the
// token source's current token, the region re-homing, the per-request
// deadline and the metering of every other call.
type signedConn struct {
	c     *Client
	vin   string
	inbox chan []byte

	mu     sync.Mutex
	closed bool
}

var _ connector.Connector = (*signedConn)(nil)

func newSignedConn(c *Client, vin string) *signedConn {
	return &signedConn{c: c, vin: vin, inbox: make(chan []byte, connector.BufferSize)}
}

// Receive hands the car's answers to the SDK's dispatcher.
func (s *signedConn) Receive() <-chan []byte { return s.inbox }

// Send posts one routable message (FLEET_API.md §4.2) and queues the answer.
func (s *signedConn) Send(ctx context.Context, buffer []byte) error {
	path, err := vehiclePath(s.vin, "/signed_command")
	if err != nil {
		return err
	}
	var answer []byte
	err = s.c.do(ctx, call{method: http.MethodPost, endpoint: CallSignedCommand, device: s.vin, path: path,
		body: map[string][]byte{"routable_message": buffer}, out: &answer})
	switch {
	case StatusOf(err) == http.StatusUnprocessableEntity:
		// 422: the car does not speak the protocol (pre-2021 Model S/X).
		return protocol.ErrProtocolNotSupported
	case StatusOf(err) == http.StatusServiceUnavailable:
		// The SDK reads 503 as "vehicle not awake"; the bridge wakes on ErrAsleep.
		return &APIError{Endpoint: CallSignedCommand, Status: http.StatusServiceUnavailable, Kind: ErrAsleep}
	case err != nil:
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return protocol.ErrNotConnected
	}
	select {
	case s.inbox <- answer:
		return nil
	default:
		return protocol.NewError("dropped response because inbox is full", true, false)
	}
}

// VIN is the car this connection talks to.
func (s *signedConn) VIN() string { return s.vin }

// Close ends the connection; safe to call more than once, as the SDK requires.
func (s *signedConn) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.inbox)
	}
}

// PreferredAuthMethod is what inet uses over the internet: HMAC, with the
// answer encrypted by the car.
func (s *signedConn) PreferredAuthMethod() connector.AuthMethod { return connector.AuthMethodHMAC }

// RetryInterval is inet's.
func (s *signedConn) RetryInterval() time.Duration { return time.Second }

// AllowedLatency is inet's.
func (s *signedConn) AllowedLatency() time.Duration { return inet.MaxLatency }

// signedCar is one car's SDK vehicle, kept between commands so the session
// (counter, epoch) lives on; mu serialises commands to the car.
type signedCar struct {
	mu     sync.Mutex
	veh    *vehicle.Vehicle
	closed bool // disconnected by close
}

// signer runs signed commands for every car of the account.
type signer struct {
	c       *Client
	key     protocol.ECDHPrivateKey
	file    string // session cache path; "" keeps it in memory
	timeout time.Duration

	mu       sync.Mutex
	cars     map[string]*signedCar
	sessions *cache.SessionCache
	closed   bool // no car is connected after close
}

// newSigner loads the session cache from dir (when set). A missing or
// unreadable cache only costs a handshake, so it is not an error.
func newSigner(c *Client, priv *ecdsa.PrivateKey, dir string, timeout time.Duration) (*signer, error) {
	ek, err := priv.ECDH()
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	key := protocol.UnmarshalECDHPrivateKey(ek.Bytes())
	if key == nil {
		return nil, errors.New("signing key: not a P-256 private key")
	}
	s := &signer{c: c, key: key, timeout: timeout, cars: map[string]*signedCar{}, sessions: cache.New(0)}
	if dir != "" {
		s.file = filepath.Join(dir, SessionCacheFile)
		if loaded, err := cache.ImportFromFile(s.file); err == nil && loaded.Vehicles != nil {
			s.sessions = loaded
		}
	}
	return s, nil
}

// car returns the connected SDK vehicle for vin, building it on first use.
func (s *signer) car(ctx context.Context, vin string) (*signedCar, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if sc := s.cars[vin]; sc != nil {
		return sc, nil
	}
	veh, err := vehicle.NewVehicle(newSignedConn(s.c, vin), s.key, s.sessions)
	if err != nil {
		return nil, fmt.Errorf("signed command: %w", err)
	}
	if err := veh.Connect(ctx); err != nil {
		return nil, fmt.Errorf("signed command: %w", err)
	}
	sc := &signedCar{veh: veh}
	s.cars[vin] = sc
	return sc, nil
}

// run sends cmd signed: handshake when no session is cached, then the
// command as proxy.ExtractCommandAction translates it from the REST
// vocabulary. It returns SDK errors unmapped (see mapSigned).
func (s *signer) run(ctx context.Context, vin string, cmd Command) error {
	params, err := sdkParams(cmd.Params)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	action, err := proxy.ExtractCommandAction(ctx, cmd.Name, params)
	if err != nil {
		return err
	}
	sc, err := s.car(ctx, vin)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return ErrClosed
	}
	err = startSessions(ctx, sc.veh)
	if err == nil {
		err = action(sc.veh)
	}
	s.save(sc.veh)
	return err
}

// startSessions starts (or resumes from the cache) a session with each
// domain, concurrently, and waits for both. It replaces
// Vehicle.StartSession(ctx, nil) because the SDK's dispatcher (v0.4.0)
// returns on the first failed handshake and leaves the other domain's
// goroutine blocked forever on an unbuffered channel: one leaked goroutine
// per unpaired car and command. Started one domain at a time, the SDK reads
// its only result, and this function reads every result it asked for.
func startSessions(ctx context.Context, veh *vehicle.Vehicle) error {
	// The car's two protocol domains: VCSEC (locks, trunk) and infotainment
	// (everything else), as Vehicle.StartSession(ctx, nil) would start them.
	sessionDomains := []universalmessage.Domain{universalmessage.Domain_DOMAIN_VEHICLE_SECURITY,
		universalmessage.Domain_DOMAIN_INFOTAINMENT}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan error, len(sessionDomains))
	for _, d := range sessionDomains {
		go func() {
			// A panic in the SDK becomes this command's error, not the process's end.
			defer func() {
				if r := recover(); r != nil {
					results <- fmt.Errorf("signed command: session handshake panicked: %v", r)
				}
			}()
			results <- veh.StartSession(ctx, []universalmessage.Domain{d})
		}()
	}
	var first error
	for range sessionDomains {
		err := <-results
		if err == nil {
			continue
		}
		cancel() // one failed: the other handshake is not worth waiting for
		// The other's Canceled is a consequence, not the cause.
		if first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled) {
			first = err
		}
	}
	return first
}

// save stores the car's sessions in the cache and the cache on disk (0600,
// atomically: the SDK's ExportToFile neither truncates nor restricts mode,
// and two cars' commands may save at once, so each write needs its own
// temp file).
func (s *signer) save(veh *vehicle.Vehicle) {
	if err := veh.UpdateCachedSessions(s.sessions); err != nil || s.file == "" {
		return
	}
	var buf bytes.Buffer
	if err := s.sessions.Export(&buf); err != nil {
		return
	}
	if err := atomicfile.Write(s.file, buf.Bytes(), 0o600); err != nil {
		s.c.log.Warn().Err(err).Msg("cannot write the vehicle session cache")
	}
}

// close disconnects every car, each once its command in flight is done,
// and refuses to connect new ones.
func (s *signer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for vin, sc := range s.cars {
		sc.mu.Lock()
		sc.veh.Disconnect()
		sc.closed = true
		sc.mu.Unlock()
		delete(s.cars, vin)
	}
}

// sdkParams gives the SDK the types it checks for: it wants float64 for
// every number, as encoding/json would produce, while Go callers write ints.
func sdkParams(p map[string]any) (proxy.RequestParameters, error) {
	out := proxy.RequestParameters{}
	if len(p) == 0 {
		return out, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("signed command parameters: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("signed command parameters: %w", err)
	}
	return out, nil
}

// mapSigned turns the SDK's outcome into the package's vocabulary: a
// CommandResult for anything the car answered, a sentinel for the rest.
// Fleet API errors of the transport (asleep, unauthorized, rate limited…)
// pass through unchanged so the bridge classifies them as for REST.
func mapSigned(err error) (*CommandResult, error) {
	var apiErr *APIError
	var httpErr *inet.HTTPError
	switch {
	case err == nil:
		return &CommandResult{Result: true}, nil
	case errors.Is(err, protocol.ErrKeyNotPaired):
		return nil, ErrKeyNotPaired
	case errors.As(err, &apiErr):
		return nil, err
	case protocol.IsNominalError(err):
		// The car (or the SDK's parameter check) refused: Tesla's own words.
		return &CommandResult{Result: false, Reason: err.Error()}, nil
	case errors.As(err, &httpErr):
		// ExtractCommandAction's unknown command: {"error":"invalid_command"}.
		msg := httpErr.Message
		if strings.Contains(msg, "invalid_command") {
			msg = "invalid_command"
		}
		return nil, &APIError{Endpoint: CallSignedCommand, Status: httpErr.Code, Message: msg, Kind: ErrBadRequest}
	case protocol.MayHaveSucceeded(err):
		return nil, fmt.Errorf("%w (%w)", ErrMayHaveSucceeded, err)
	}
	return nil, fmt.Errorf("signed command: %w", err)
}
