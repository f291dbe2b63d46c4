package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/teslamotors/vehicle-command/pkg/protocol"
	"github.com/teslamotors/vehicle-command/pkg/proxy"
)

// Outcomes of the BLE path, in the package's taxonomy. Each wraps the
// Fleet API sentinel it stands for where there is one, so a caller that
// only knows the Fleet API path still classifies it (errors.Is(err,
// ErrKeyNotPaired) holds for ErrBLEKeyNotPaired), while one that routes
// can tell the transport and name the BLE remedy.
var (
	// ErrBLEKeyNotPaired: the car does not know the app's key. Over BLE the
	// fix is a key-card tap in the car (BLEKeyNotPairedRemedy), not the
	// pairing link.
	ErrBLEKeyNotPaired = fmt.Errorf("%w (over Bluetooth)", ErrKeyNotPaired)
	// ErrBLEAsleep: infotainment sleeps, so the car cannot answer state
	// reads or infotainment commands until it is woken (over BLE: free).
	ErrBLEAsleep = fmt.Errorf("%w (the body controller says so over Bluetooth)", ErrAsleep)
	// ErrBLEOutOfRange: the car's beacon is not seen or the link dropped.
	// Nothing reached the car; the Fleet API may take the request instead.
	ErrBLEOutOfRange = errors.New("the car is not in Bluetooth range")
	// ErrBLENeedsFleetAPI: a command that exists only in the Fleet API's
	// REST form (navigation_request, set_managed_*), never over BLE.
	ErrBLENeedsFleetAPI = errors.New("this command only exists in the Fleet API, not over Bluetooth")
	// ErrBLENoKey: BLE reads and commands are signed with the app's private
	// key (tesla.private_key_file), and none is configured.
	ErrBLENoKey = errors.New("Bluetooth needs the app's private key (tesla.private_key_file)")
	// ErrBLEPairTimeout: no key-card tap confirmed the add-key request in time.
	ErrBLEPairTimeout = errors.New("the key was not approved in the car in time")
)

// BLEKeyNotPairedRemedy is what a user does about ErrBLEKeyNotPaired.
func BLEKeyNotPairedRemedy(vin string) string {
	return "Pair the key over Bluetooth next to the car: run `tesla2mqtt ble pair --vin " + vin +
		"`, then tap your key card on the center console and confirm on the car's screen."
}

// Adapter problems. The host's Bluetooth adapter, not the car, is at fault;
// AdapterError carries the remedy for the user's install path.
var (
	// ErrBLEUnsupported: the kernel offers no Bluetooth here (no support
	// built in, or the process runs in its own network namespace, as a
	// Docker container without --net=host does).
	ErrBLEUnsupported = errors.New("Bluetooth is not available to this process")
	// ErrBLENoAdapter: no Bluetooth adapter (hciN) exists, or not the configured one.
	ErrBLENoAdapter = errors.New("no Bluetooth adapter found")
	// ErrBLEPermission: the process may not drive the adapter directly
	// (raw HCI needs CAP_NET_ADMIN).
	ErrBLEPermission = errors.New("no permission to use the Bluetooth adapter")
	// ErrBLEAdapterBusy: another process holds the adapter's raw channel
	// (another tesla2mqtt, or a second BLE tool).
	ErrBLEAdapterBusy = errors.New("the Bluetooth adapter is in use by another program")
)

// AdapterError is a failure of the host's adapter. Kind is one of the
// ErrBLE… adapter sentinels above; Remedy says what to do about it.
type AdapterError struct {
	Kind    error
	Adapter string // "hci0"; "" = the first one
	Detail  string // what the system said
	Remedy  string
}

// Error names the problem, the adapter, the system's words and the fix.
func (e *AdapterError) Error() string {
	msg := e.Kind.Error()
	if e.Adapter != "" {
		msg += " (" + e.Adapter + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Remedy != "" {
		msg += "\n  " + e.Remedy
	}
	return msg
}

// Unwrap lets errors.Is match Kind.
func (e *AdapterError) Unwrap() error { return e.Kind }

// classifyBLE maps an SDK or transport error of the BLE path into the
// taxonomy. A key the car does not know becomes ErrBLEKeyNotPaired; errors
// that reached no car (no link, link lost before sending) become
// ErrBLEOutOfRange; what the car answered is left to mapSigned.
func classifyBLE(err error) error {
	var ae *AdapterError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrBLEKeyNotPaired), errors.Is(err, ErrBLEOutOfRange), errors.Is(err, ErrBLEAsleep),
		errors.As(err, &ae):
		return err
	case errors.Is(err, protocol.ErrKeyNotPaired):
		return ErrBLEKeyNotPaired
	case errors.Is(err, proxy.ErrCommandUseRESTAPI):
		return ErrBLENeedsFleetAPI
	case errors.Is(err, protocol.ErrNotConnected):
		return fmt.Errorf("%w (%w)", ErrBLEOutOfRange, err)
	}
	return err
}

// linkLost reports whether err means the BLE link is gone: the connector
// refused to send, or the car stopped answering before a deadline.
func linkLost(err error) bool {
	var lost *bleSendError
	return errors.As(err, &lost) || errors.Is(err, ErrBLEOutOfRange) ||
		(errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrBLEAsleep))
}

// bleSendError marks a failure of the connector's Send: nothing went out.
type bleSendError struct{ err error }

func (e *bleSendError) Error() string { return "bluetooth send: " + e.err.Error() }
func (e *bleSendError) Unwrap() error { return e.err }
