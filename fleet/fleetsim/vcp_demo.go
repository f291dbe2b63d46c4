package fleetsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// DemoUnpairedVIN is the car SetupSignedDemo adds: it requires signed
// commands and the app's key is not paired with it.
const DemoUnpairedVIN = "7SAYGDEE1PF000003"

// SetupSignedDemo prepares both signed-command cases for `tesla2mqtt demo`
// and end-to-end tests: it makes an app key, plays it as the app's domain
// key, pairs it with "Blue Y" (which requires signing) and adds "Grey Y"
// (DemoUnpairedVIN, online, requires signing, not paired). The default
// fleet stays as it is, so tests that count cars are unaffected. It returns
// the app's private key, which the bridge signs with.
func (s *Sim) SetupSignedDemo() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := s.SetAppPublicKey(fleet.PublicKeyPEM(key)); err != nil {
		return nil, err
	}
	s.SetKeyPaired("7SAYGDEE1PF000002", true)
	err = s.AddVehicle(DemoUnpairedVIN, "Grey Y", func(v *VehicleSnapshot) {
		v.State = fleet.StateOnline
		v.Locked, v.ChargeLimit, v.BatteryLevel = true, 80, 55
	})
	if err != nil {
		return nil, err
	}
	s.SetKeyPaired(DemoUnpairedVIN, false)
	return key, nil
}
