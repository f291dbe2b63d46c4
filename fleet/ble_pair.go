package fleet

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/keys"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"
	"github.com/teslamotors/vehicle-command/pkg/vehicle"
)

// Pairing the app's key over BLE: the add-key request goes to the body
// controller, the user taps a key card on the center console and confirms
// on the screen, and from then on the car knows the key, over BLE and the
// Fleet API alike. The key gets the Driver role: everything the bridge
// does, but no managing of other keys or PINs.

// RequestKeyPairing sends the add-key request for pub. It returns once the
// request is sent; the car waits for the key-card tap (KeyPaired tells).
func (c *BLECar) RequestKeyPairing(ctx context.Context, pub *ecdsa.PublicKey) error {
	epub, err := pub.ECDH()
	if err != nil {
		return fmt.Errorf("BLE pairing: %w", err)
	}
	return c.exchange(ctx, false, func(ctx context.Context, veh *vehicle.Vehicle) error {
		return veh.SendAddKeyRequestWithRole(ctx, epub, keys.Role_ROLE_DRIVER, vcsec.KeyFormFactor_KEY_FORM_FACTOR_CLOUD_KEY)
	})
}

// KeyPaired reports whether the car knows the app's key: a handshake with
// the body controller succeeds only for a key it knows, and it answers
// while the car sleeps.
func (c *BLECar) KeyPaired(ctx context.Context) (bool, error) {
	if c.key == nil {
		return false, ErrBLENoKey
	}
	err := c.exchange(ctx, false, func(ctx context.Context, veh *vehicle.Vehicle) error {
		err := veh.StartSession(ctx, domainsVCSEC)
		if err == nil {
			c.keepSessions(veh)
		}
		return err
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrBLEKeyNotPaired):
		return false, nil
	}
	return false, err
}

// StartPairing sends the add-key request for the app's own key
// (BLEOptions.PrivateKey) and returns; the car then waits for the key-card
// tap, and KeyPaired tells when it came. already is true, and nothing is
// sent, when the car knows the key. The bridge waits for the tap on its
// own clock, so that a request over MQTT never holds a goroutine in Sleep.
func (c *BLECar) StartPairing(ctx context.Context) (already bool, err error) {
	if c.opts.PrivateKey == nil {
		return false, ErrBLENoKey
	}
	if ok, err := c.KeyPaired(ctx); err != nil || ok {
		return ok, err
	}
	return false, c.RequestKeyPairing(ctx, &c.opts.PrivateKey.PublicKey)
}

// PairKey pairs the app's own key: StartPairing, then prompt so the user
// knows to tap the card, then it asks the car every poll until it knows
// the key, timeout passes on the injected clock (ErrBLEPairTimeout), ctx
// ends or the car cannot be asked. A key the car already knows is
// reported at once, without a request or a prompt.
func (c *BLECar) PairKey(ctx context.Context, timeout, poll time.Duration, prompt func()) error {
	already, err := c.StartPairing(ctx)
	if err != nil || already {
		return err
	}
	if prompt != nil {
		prompt()
	}
	deadline := c.opts.Clock.Now().Add(timeout)
	for {
		if !c.opts.Clock.Now().Before(deadline) {
			return ErrBLEPairTimeout
		}
		if err := c.opts.Clock.Sleep(ctx, poll); err != nil {
			return err
		}
		if ok, err := c.KeyPaired(ctx); ok || err != nil {
			return err
		}
	}
}
