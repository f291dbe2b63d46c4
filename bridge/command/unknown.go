package command

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CodeUnknownDevice answers a set or get for a device name the bridge does
// not know: a typo in a topic must not vanish without a word.
const CodeUnknownDevice = "unknown_device"

// UnknownDevice is the result for a message to <base>/<name>/set… or /get
// when no device has that name; known lists the names that exist. The
// payload's transaction, if it has one, is echoed.
func UnknownDevice(name string, known []string, payload []byte) Result {
	var tx struct {
		Transaction any `json:"transaction"`
	}
	_ = json.Unmarshal(payload, &tx) // best effort: a bare value has none
	remedy := "the bridge has no devices yet; see bridge/info"
	if len(known) > 0 {
		remedy = "use one of the bridge's device names: " + strings.Join(known, ", ")
	}
	return Result{Transaction: tx.Transaction, Status: StatusError, Error: &ResultError{Code: CodeUnknownDevice,
		Message: fmt.Sprintf("no device named %q", name), Remedy: remedy}}
}
