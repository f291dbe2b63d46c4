package command

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Job is one command on its way to a device. A set message becomes one job
// per key: parsing happens on the MQTT dispatch goroutine and is cheap;
// execution happens on the device's own worker, one command at a time per
// device, so a slow car never blocks another car or the MQTT connection.
type Job struct {
	Key string
	Cmd fleet.Command
	// Group is the command group for [commands] allow/deny.
	Group string
	// Scopes are the token scopes the command needs (any one of them).
	Scopes      []string
	Transaction any
	// More says more jobs of the same set message follow, so the device's
	// confirming read waits for them (confirm.go).
	More bool
	// Arrived is when the set message arrived (Enqueue stamps it when
	// zero); Expiry is the sender's own deadline. Together with the
	// group's maximum age they say when the job expires (expiry.go).
	Arrived time.Time
	Expiry  Expiry
}

// Prepare turns one key/value of a set message into a job through the
// device's row for the key (nil: the device has no such entity), or refuses
// it without calling Tesla. view is what the row reads; the caller holds
// whatever lock guards it.
func Prepare(device string, row *entity.Spec, view any, it Item) (Job, *entity.PayloadError) {
	switch {
	case row == nil:
		return Job{}, &entity.PayloadError{Code: CodeUnknownKey, Message: fmt.Sprintf("%s has no entity %q", device, it.Key)}
	case !row.Writable():
		return Job{}, &entity.PayloadError{Code: CodeReadOnly, Message: fmt.Sprintf("%q is read-only", it.Key)}
	}
	cmd, err := safeCommand(row, it.Value, view)
	if err != nil {
		var pe *entity.PayloadError
		if errors.As(err, &pe) {
			return Job{}, pe
		}
		return Job{}, invalid("%s: %v", it.Key, err)
	}
	return Job{Key: it.Key, Cmd: cmd, Group: row.CommandGroup(cmd), Scopes: row.CommandScopes, Expiry: it.Expiry}, nil
}

// safeCommand runs a row's adapter and turns a panic on odd input into an
// error: a payload must never take the bridge down.
func safeCommand(row *entity.Spec, v, view any) (cmd fleet.Command, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = invalid("cannot use %v: %v", v, r)
		}
	}()
	return row.Command(v, view)
}

// RemedyFor lists a device's writable keys, the most useful hint for a set
// message with an unknown or read-only key ("" when there are none).
func RemedyFor(device string, rows []*entity.Spec) string {
	var keys []string
	for _, e := range rows {
		if e.Writable() {
			keys = append(keys, e.Key)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return "writable keys of " + device + ": " + strings.Join(keys, ", ")
}
