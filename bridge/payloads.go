package bridge

// The payloads of the bridge's own requests and events that nobody
// outside reads as types; the exported ones are package payload's.

// bridgeRequest is the payload of <base>/bridge/request/<action>.
type bridgeRequest struct {
	Device      string `json:"device"`
	Transaction any    `json:"transaction"`
	// VIN names the car of a ble_pair request (or Device does), and
	// Timeout is how long it waits for the key card, in seconds.
	VIN     string  `json:"vin"`
	Timeout float64 `json:"timeout"`
}

// deviceEvent is the payload of a device event on <base>/bridge/event.
type deviceEvent struct {
	Type   string `json:"type"`
	Device string `json:"device"`
	ID     string `json:"id"`
	At     string `json:"at"`
}
