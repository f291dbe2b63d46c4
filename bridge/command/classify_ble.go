package command

import (
	"errors"
	"fmt"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// bleErrorResult maps the outcomes of a car's Bluetooth route that need
// their own remedy, nil for the rest: over Bluetooth an unpaired key is
// fixed with a key card next to the car, not with the pairing link alone,
// and a car that route = "only" keeps off the Fleet API is out of reach
// when it is out of range, whatever its connection to Tesla.
func bleErrorResult(o Options, t Target, err error) *ResultError {
	msg := err.Error()
	var ae *fleet.AdapterError
	switch {
	case fleet.MayHaveRun(err):
		return nil // timeout/unknown: never retried, whichever the route
	case errors.Is(err, fleet.ErrBLEKeyNotPaired):
		r := &ResultError{Code: CodeKeyNotPaired, Message: fleet.ErrBLEKeyNotPaired.Error(),
			Remedy: fleet.BLEKeyNotPairedRemedy(t.UID())}
		if o.Domain != "" {
			r.URL = fleet.PairingURL(o.Domain, t.UID())
			r.Remedy += fmt.Sprintf(" Or open %s on the phone with the Tesla app and approve the key in the car.",
				fleet.PairingURL(o.Domain, ""))
		}
		return r
	case errors.Is(err, fleet.ErrOffline) && errors.Is(err, fleet.ErrBLEOutOfRange):
		return &ResultError{Code: CodeVehicleOffline, Message: msg,
			Remedy: "the car is out of Bluetooth range, and [vehicle.ble] route = \"only\" keeps it off the Fleet API; try again when it is near the adapter, or set route = \"prefer\""}
	case errors.Is(err, fleet.ErrBLENeedsFleetAPI):
		return &ResultError{Code: CodeCommandDenied, Message: msg,
			Remedy: "this command exists only in the Fleet API, and [vehicle.ble] route = \"only\" keeps this car off it; set route = \"prefer\" to allow it"}
	case errors.Is(err, fleet.ErrBLENoKey):
		return &ResultError{Code: CodeSigningRequired, Message: msg,
			Remedy: "set tesla.private_key_file: commands over Bluetooth are signed with the app's key"}
	case errors.As(err, &ae):
		return &ResultError{Code: CodeFleetError, Message: msg, Remedy: ae.Remedy}
	}
	return nil
}
