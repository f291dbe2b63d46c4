package fleetsim

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/signatures"
	universal "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/universalmessage"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// The SDK drives the happy path in fleet's tests; these check that the car
// side refuses what a real car refuses, playing the client by hand.

type vcpClient struct {
	e    *env
	priv *ecdh.PrivateKey
	sess *vcpSession // the client's copy: same K, epoch and counter
	addr []byte
}

func newVCPClient(t *testing.T) *vcpClient {
	e := newEnv(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := e.sim.SetAppPublicKey(fleet.PublicKeyPEM(key)); err != nil {
		t.Fatal(err)
	}
	e.sim.SetKeyPaired(vinBlue, true)
	if err := e.sim.SetVehicleState(vinBlue, fleet.StateOnline); err != nil {
		t.Fatal(err)
	}
	priv, _ := key.ECDH()
	return &vcpClient{e: e, priv: priv, addr: make([]byte, 16)}
}

func (c *vcpClient) send(t *testing.T, vin string, m *universal.RoutableMessage) *universal.RoutableMessage {
	t.Helper()
	m.FromDestination = &universal.Destination{SubDestination: &universal.Destination_RoutingAddress{RoutingAddress: c.addr}}
	raw, _ := proto.Marshal(m)
	body, _ := json.Marshal(map[string][]byte{"routable_message": raw})
	var out []byte
	c.e.post("/api/1/vehicles/"+vin+"/signed_command", string(body)).decode(t, &out)
	var reply universal.RoutableMessage
	if err := proto.Unmarshal(out, &reply); err != nil {
		t.Fatal(err)
	}
	return &reply
}

func toInfotainment() *universal.Destination {
	return &universal.Destination{SubDestination: &universal.Destination_Domain{Domain: universal.Domain_DOMAIN_INFOTAINMENT}}
}

// handshake checks the session info's tag as the SDK does and keeps the session.
func (c *vcpClient) handshake(t *testing.T, vin string) *universal.RoutableMessage {
	t.Helper()
	uuid := []byte("0123456789abcdef")
	reply := c.send(t, vin, &universal.RoutableMessage{ToDestination: toInfotainment(), Uuid: uuid,
		Payload: &universal.RoutableMessage_SessionInfoRequest{SessionInfoRequest: &universal.SessionInfoRequest{
			PublicKey: c.priv.PublicKey().Bytes()}}})
	if reply.GetSignedMessageStatus().GetSignedMessageFault() != universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE {
		return reply
	}
	var info signatures.SessionInfo
	if err := proto.Unmarshal(reply.GetSessionInfo(), &info); err != nil {
		t.Fatal(err)
	}
	sess, err := newVCPSession(clock.Real(), c.priv, info.GetPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := reply.GetSignatureData().GetSessionInfoTag().GetTag(); !hmacEqualBytes(got, sess.infoTag(vin, uuid, reply.GetSessionInfo())) {
		t.Fatal("session info tag does not authenticate with the shared key")
	}
	copy(sess.epoch[:], info.GetEpoch())
	sess.counter = info.GetCounter()
	c.sess = sess
	return reply
}

// command builds an HMAC-signed set_charge_limit with the given counter.
func (c *vcpClient) command(percent int32, counter uint32) *universal.RoutableMessage {
	payload, _ := proto.Marshal(&carserver.Action{ActionMsg: &carserver.Action_VehicleAction{VehicleAction: &carserver.VehicleAction{
		VehicleActionMsg: &carserver.VehicleAction_ChargingSetLimitAction{ChargingSetLimitAction: &carserver.ChargingSetLimitAction{Percent: percent}}}}})
	d := &signatures.HMAC_Personalized_Signature_Data{Epoch: c.sess.epoch[:], Counter: counter, ExpiresAt: c.sess.clock() + 10}
	d.Tag = c.sess.hmacTag(byte(universal.Domain_DOMAIN_INFOTAINMENT), vinBlue, d, 0, payload)
	return &universal.RoutableMessage{ToDestination: toInfotainment(), Uuid: []byte("fedcba9876543210"),
		Payload: &universal.RoutableMessage_ProtobufMessageAsBytes{ProtobufMessageAsBytes: payload},
		SubSigData: &universal.RoutableMessage_SignatureData{SignatureData: &signatures.SignatureData{
			SignerIdentity: &signatures.KeyIdentity{IdentityType: &signatures.KeyIdentity_PublicKey{PublicKey: c.priv.PublicKey().Bytes()}},
			SigType:        &signatures.SignatureData_HMAC_PersonalizedData{HMAC_PersonalizedData: d}}}}
}

func fault(m *universal.RoutableMessage) universal.MessageFault_E {
	return m.GetSignedMessageStatus().GetSignedMessageFault()
}

func hmacEqualBytes(a, b []byte) bool { return len(a) > 0 && string(a) == string(b) }

func TestVCPVerifiesSignedCommands(t *testing.T) {
	c := newVCPClient(t)
	c.handshake(t, vinBlue)

	ok := c.command(66, c.sess.counter+1)
	if f := fault(c.send(t, vinBlue, ok)); f != universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE {
		t.Fatalf("valid command: fault %v", f)
	}
	if got := c.e.sim.Snapshot(vinBlue).ChargeLimit; got != 66 {
		t.Fatalf("charge limit = %v, want 66", got)
	}

	// Replaying the same message is refused.
	if f := fault(c.send(t, vinBlue, ok)); f != universal.MessageFault_E_MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER {
		t.Errorf("replay: fault %v, want INVALID_TOKEN_OR_COUNTER", f)
	}

	// A payload changed after signing is refused and changes nothing.
	tampered := c.command(66, c.sess.counter+2)
	forged := c.command(90, c.sess.counter+2)
	tampered.Payload = forged.Payload
	reply := c.send(t, vinBlue, tampered)
	if f := fault(reply); f != universal.MessageFault_E_MESSAGEFAULT_ERROR_INVALID_SIGNATURE {
		t.Errorf("tampered: fault %v, want INVALID_SIGNATURE", f)
	}
	if reply.GetSessionInfo() == nil {
		t.Error("a signature fault should carry session info for resynchronisation")
	}
	if got := c.e.sim.Snapshot(vinBlue).ChargeLimit; got != 66 {
		t.Errorf("charge limit = %v after a forged command, want 66", got)
	}
}

func TestVCPRefusesUnpairedKey(t *testing.T) {
	c := newVCPClient(t)
	c.e.sim.SetKeyPaired(vinBlue, false)
	if f := fault(c.handshake(t, vinBlue)); f != universal.MessageFault_E_MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID {
		t.Errorf("handshake with an unpaired key: fault %v, want UNKNOWN_KEY_ID", f)
	}
}

func TestVCPAsleepAndNoProtocol(t *testing.T) {
	c := newVCPClient(t)
	if err := c.e.sim.SetVehicleState(vinBlue, fleet.StateAsleep); err != nil {
		t.Fatal(err)
	}
	c.e.post("/api/1/vehicles/"+vinBlue+"/signed_command", `{"routable_message":""}`).want(t, http.StatusRequestTimeout)
	if err := c.e.sim.Update(vinRed, func(v *VehicleSnapshot) { v.CommandSigning = "off" }); err != nil {
		t.Fatal(err)
	}
	c.e.post("/api/1/vehicles/"+vinRed+"/signed_command", `{"routable_message":""}`).want(t, http.StatusUnprocessableEntity)
}
