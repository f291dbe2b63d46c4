package fleet

import (
	"errors"

	"github.com/teslamotors/vehicle-command/pkg/protocol"
)

// Outcomes of the signed command path (FLEET_API.md §4.3). The bridge maps
// each to a result code; none of them is worth an automatic retry.
var (
	// ErrKeyNotPaired is the SDK's own sentinel, not a copy, so errors.Is
	// matches whichever package produced it and the text stays the car's
	// words: "vehicle rejected request: your public key has not been paired
	// with the vehicle". The user fixes it by approving the key in the car.
	ErrKeyNotPaired = protocol.ErrKeyNotPaired
	// ErrMayHaveSucceeded: the signed command may have reached the car but
	// no answer came back. Resending could run it twice (a trunk toggles),
	// so callers report "unknown" instead of retrying.
	ErrMayHaveSucceeded = errors.New("the command may have run: the car's answer did not arrive")
	// ErrSigningRequired: the car only accepts signed commands and no
	// private key is configured (tesla.private_key_file).
	ErrSigningRequired = errors.New("this car only accepts signed commands and no private key is configured")
)

// ErrClosed is returned for commands sent after the Commander was closed.
var ErrClosed = errors.New("fleet: the commander is closed")
