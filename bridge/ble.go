package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Bluetooth on the bridge's side: the sessions' status changes, which cmd
// hands over (BLEStatus), and pairing the app's key through the running
// bridge, which holds the adapter (bridge/request/ble_pair).

// BLEStatus takes a change of a car's Bluetooth session (link up or down,
// RSSI) into the car's state: ble_connected, ble_rssi. Safe to call from
// the sessions' own goroutines, before and after Run.
func (b *Bridge) BLEStatus(vin string, st fleet.BLEStatus) { b.reg.BLEStatus(vin, st) }

// Pairing over the bridge: how long it waits for the key-card tap by
// default and at most, and how often it asks the car meanwhile.
const (
	blePairTimeout    = 3 * time.Minute
	blePairMaxTimeout = 15 * time.Minute
	blePairPoll       = 2 * time.Second
)

// EventBLEPairing is the bridge/event a pairing request publishes once
// the add-key request reached the car: the user now taps the key card.
const EventBLEPairing = "ble_pairing"

// blePairingEvent is the payload of a ble_pairing event.
type blePairingEvent struct {
	Type        string `json:"type"`
	Device      string `json:"device"`
	VIN         string `json:"vin"`
	Message     string `json:"message"`
	Timeout     int    `json:"timeout"`
	Transaction any    `json:"transaction,omitempty"`
	At          string `json:"at"`
}

// blePair handles bridge/request/ble_pair {"device"|"vin": …}: it pairs
// the app's key with the car over the bridge's own Bluetooth link, in the
// background, and answers once the car knows the key (or could not be
// paired) with answer. One pairing per car at a time.
func (b *Bridge) blePair(req bridgeRequest, answer func(contract.Response)) {
	name := req.Device
	if name == "" {
		name = req.VIN
	}
	fail := func(code, msg, remedy string) {
		answer(contract.Response{Status: "error", Transaction: req.Transaction,
			Error: &contract.ResponseError{Code: code, Message: msg, Remedy: remedy}})
	}
	if name == "" {
		fail("invalid_payload", `name the car: {"device": "<name>"} or {"vin": "<VIN>"}`, "")
		return
	}
	timeout := blePairTimeout
	if req.Timeout > 0 {
		timeout = min(time.Duration(req.Timeout*float64(time.Second)), blePairMaxTimeout)
	}
	b.mu.Lock()
	busy := b.pairing[name]
	b.pairing[name] = true
	b.mu.Unlock()
	if busy {
		fail("busy", fmt.Sprintf("a pairing of %s is already waiting for its key card", name), "")
		return
	}
	prompt := func(vin string) {
		b.publishBLEPairing(blePairingEvent{Type: EventBLEPairing, Device: name, VIN: vin, Timeout: int(timeout.Seconds()),
			Message:     "Tap your key card on the center console, then confirm the new key on the car's screen.",
			Transaction: req.Transaction})
	}
	started := b.hand(func(ctx context.Context) {
		defer func() {
			b.mu.Lock()
			delete(b.pairing, name)
			b.mu.Unlock()
		}()
		vin, already, err := b.reg.PairBLE(ctx, name, timeout, blePairPoll, prompt)
		if err != nil {
			code, remedy := blePairError(vin, timeout, err)
			fail(code, err.Error(), remedy)
			return
		}
		answer(contract.Response{Status: "ok", Transaction: req.Transaction,
			Data: map[string]any{"device": name, "vin": vin, "paired": true, "already_paired": already}})
	})
	if !started {
		b.mu.Lock()
		delete(b.pairing, name)
		b.mu.Unlock()
		fail("shutting_down", "the bridge is shutting down; nothing was sent to the car", "")
	}
}

// blePairError is the response code and remedy of a failed pairing.
func blePairError(vin string, timeout time.Duration, err error) (code, remedy string) {
	var ae *fleet.AdapterError
	switch {
	case errors.Is(err, device.ErrUnknownCar):
		return "unknown_device", "name the car by its topic name or VIN, as bridge/info lists them"
	case errors.Is(err, device.ErrNoBLE):
		return "ble_not_configured", "add [vehicle.ble] enabled = true for " + vin + " to the config and restart the bridge"
	case errors.Is(err, fleet.ErrBLEOutOfRange):
		return "out_of_range", "bring the car (or the adapter) closer; `tesla2mqtt ble scan` shows what the adapter sees, and ble_rssi what it saw last"
	case errors.Is(err, fleet.ErrBLEPairTimeout):
		return "pair_timeout", fmt.Sprintf("no key-card tap confirmed the request within %s: ask again, tap the card on the center console (not the door pillar) and confirm on the screen; \"timeout\" (seconds) gives more time", timeout)
	case errors.Is(err, fleet.ErrBLENoKey):
		return "signing_required", "set tesla.private_key_file: the key to pair is the app's key"
	case errors.As(err, &ae):
		return "ble_error", ae.Remedy
	case errors.Is(err, context.Canceled):
		return "shutting_down", "ask again once the bridge runs"
	}
	return "ble_error", "see the bridge log; try again next to the car"
}

// publishBLEPairing publishes a ble_pairing event on <base>/bridge/event.
func (b *Bridge) publishBLEPairing(ev blePairingEvent) {
	ev.At = b.now().UTC().Format(time.RFC3339)
	if payload, err := json.Marshal(ev); err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
}
