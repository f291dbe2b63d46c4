package fleetsim

// The simulated car's side of the Vehicle Command Protocol behind
// POST /api/1/vehicles/{tag}/signed_command (FLEET_API.md §4.2): the
// handshake (session info, authenticated with the shared key), verification
// of HMAC- or AES-GCM-signed commands with anti-replay, the command run
// against the simulated car, and the answer, encrypted when asked. A key is
// "paired" when it is the app key (SetAppPublicKey) and SetKeyPaired(vin,
// true) was called; any other key gets the UNKNOWN_KEY_ID fault, which the
// SDK reports as protocol.ErrKeyNotPaired.

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/signatures"
	universal "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/universalmessage"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// vcpState is the protocol state of every car: the car's key per domain and
// the sessions per domain and client key. Guarded by Sim.mu.
type vcpState struct {
	wall     clock.Clock
	keys     map[string]*ecdh.PrivateKey // vin + domain
	sessions map[string]*vcpSession      // vin + domain + client key
}

// vcp returns the Sim's protocol state, creating it. Callers hold s.mu.
func (s *Sim) vcp() *vcpState {
	if s.vcpState == nil {
		s.vcpState = &vcpState{wall: s.wall, keys: map[string]*ecdh.PrivateKey{}, sessions: map[string]*vcpSession{}}
	}
	return s.vcpState
}

// ResetVehicleSessions forgets every protocol session, as a car's reboot
// does: the next signed command meets a new epoch and must resynchronise.
func (s *Sim) ResetVehicleSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vcp().sessions = map[string]*vcpSession{}
}

// AddVehicle adds a car to the simulated account: a copy of the default
// Model Y ("Blue Y") under vin and name, then changed by fn (may be nil).
// It returns an error when vin is already taken.
func (s *Sim) AddVehicle(vin, name string, fn func(*VehicleSnapshot)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vehicleByTag(vin) != nil {
		return errors.New("fleetsim: vehicle " + vin + " exists")
	}
	now := s.clock.Now()
	tmpl := defaultVehicles(now)[1]
	var maxID, maxVehicleID int64
	for _, v := range s.vehicles {
		maxID, maxVehicleID = max(maxID, v.id), max(maxVehicleID, v.vehicleID)
	}
	v := &vehicleSim{id: maxID + 1, vehicleID: maxVehicleID + 1, cfg: tmpl.cfg, snap: tmpl.snap,
		updated: now, lastActive: now}
	v.snap.VIN, v.snap.DisplayName = vin, name
	if fn != nil {
		fn(&v.snap)
	}
	s.vehicles = append(s.vehicles, v)
	return nil
}

// handleSignedCommand answers signed_command. Cars with CommandSigning
// "off" do not speak the protocol (422, as pre-2021 Model S/X).
func handleSignedCommand(s *Sim, r *request) response {
	v := r.Vehicle
	if v.snap.CommandSigning == "off" {
		return apiError(http.StatusUnprocessableEntity, "vehicle does not support signed commands")
	}
	if !v.online() {
		return apiError(http.StatusRequestTimeout, errAsleep)
	}
	var body struct {
		RoutableMessage []byte `json:"routable_message"`
	}
	var msg universal.RoutableMessage
	if json.Unmarshal(r.Body, &body) != nil || proto.Unmarshal(body.RoutableMessage, &msg) != nil {
		return apiError(http.StatusBadRequest, "invalid_request")
	}
	v.touch(r.Now)
	out, err := proto.Marshal(s.vcp().answer(s, r, v, &msg))
	if err != nil {
		return apiError(http.StatusInternalServerError, "internal_error")
	}
	return ok(out)
}

// answer plays the car for one routable message.
func (st *vcpState) answer(s *Sim, r *request, v *vehicleSim, req *universal.RoutableMessage) *universal.RoutableMessage {
	domain := req.GetToDestination().GetDomain()
	reply := &universal.RoutableMessage{
		ToDestination: &universal.Destination{SubDestination: &universal.Destination_RoutingAddress{
			RoutingAddress: req.GetFromDestination().GetRoutingAddress()}},
		FromDestination: &universal.Destination{SubDestination: &universal.Destination_Domain{Domain: domain}},
		RequestUuid:     req.GetUuid(),
	}
	if domain != universal.Domain_DOMAIN_VEHICLE_SECURITY && domain != universal.Domain_DOMAIN_INFOTAINMENT {
		return vcpFault(reply, universal.MessageFault_E_MESSAGEFAULT_ERROR_INVALID_DOMAINS)
	}
	var clientPub []byte
	if hello := req.GetSessionInfoRequest(); hello != nil {
		clientPub = hello.GetPublicKey()
	} else {
		clientPub = req.GetSignatureData().GetSignerIdentity().GetPublicKey()
	}
	if clientPub == nil {
		return vcpFault(reply, universal.MessageFault_E_MESSAGEFAULT_ERROR_BAD_PARAMETER)
	}
	if !s.keyPairedLocked(v.snap.VIN, clientPub) {
		return vcpFault(reply, universal.MessageFault_E_MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID)
	}
	sess, err := st.session(v.snap.VIN, domain, clientPub)
	if err != nil {
		return vcpFault(reply, universal.MessageFault_E_MESSAGEFAULT_ERROR_BAD_PARAMETER)
	}
	if req.GetSessionInfoRequest() != nil {
		st.attachSessionInfo(reply, sess, v.snap.VIN, domain, req.GetUuid())
		return reply
	}
	plain, requestHash, counter, fault := st.verify(sess, v.snap.VIN, req)
	if fault != universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE {
		// Session info rides along so the client can resynchronise and retry.
		vcpFault(reply, fault)
		st.attachSessionInfo(reply, sess, v.snap.VIN, domain, req.GetUuid())
		return reply
	}
	var payload []byte
	if domain == universal.Domain_DOMAIN_VEHICLE_SECURITY {
		payload = runVCSEC(s, r, v, plain)
	} else {
		payload = runInfotainment(s, r, v, plain)
	}
	reply.Payload = &universal.RoutableMessage_ProtobufMessageAsBytes{ProtobufMessageAsBytes: payload}
	if req.GetFlags()&(1<<uint32(universal.Flags_FLAG_ENCRYPT_RESPONSE)) != 0 {
		nonce, ct, tag := sess.sealResponse(byte(domain), v.snap.VIN, counter, reply.GetFlags(), requestHash, 0, payload)
		reply.Payload = &universal.RoutableMessage_ProtobufMessageAsBytes{ProtobufMessageAsBytes: ct}
		reply.SubSigData = &universal.RoutableMessage_SignatureData{SignatureData: &signatures.SignatureData{
			SigType: &signatures.SignatureData_AES_GCM_ResponseData{AES_GCM_ResponseData: &signatures.AES_GCM_Response_Signature_Data{
				Counter: counter, Nonce: nonce, Tag: tag}}}}
	}
	return reply
}

// verify checks a signed command as the car does: epoch, expiry, the MAC
// (or AES-GCM tag), then the anti-replay counter. It returns the plaintext
// command and the request hash the encrypted answer is bound to.
func (st *vcpState) verify(sess *vcpSession, vin string, req *universal.RoutableMessage) (plain, requestHash []byte, counter uint32, fault universal.MessageFault_E) {
	domain := byte(req.GetToDestination().GetDomain())
	var epoch []byte
	var expiresAt uint32
	switch sig := req.GetSignatureData().GetSigType().(type) {
	case *signatures.SignatureData_HMAC_PersonalizedData:
		d := sig.HMAC_PersonalizedData
		epoch, expiresAt, counter = d.GetEpoch(), d.GetExpiresAt(), d.GetCounter()
		if f := sess.checkTiming(epoch, expiresAt, counter); f != universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE {
			return nil, nil, 0, f
		}
		want := sess.hmacTag(domain, vin, d, req.GetFlags(), req.GetProtobufMessageAsBytes())
		if !hmac.Equal(want, d.GetTag()) {
			return nil, nil, 0, universal.MessageFault_E_MESSAGEFAULT_ERROR_INVALID_SIGNATURE
		}
		plain = req.GetProtobufMessageAsBytes()
		tag := d.GetTag()
		if req.GetToDestination().GetDomain() == universal.Domain_DOMAIN_VEHICLE_SECURITY && len(tag) > 16 {
			tag = tag[:16]
		}
		requestHash = append([]byte{byte(signatures.SignatureType_SIGNATURE_TYPE_HMAC_PERSONALIZED)}, tag...)
	case *signatures.SignatureData_AES_GCM_PersonalizedData:
		d := sig.AES_GCM_PersonalizedData
		epoch, expiresAt, counter = d.GetEpoch(), d.GetExpiresAt(), d.GetCounter()
		if f := sess.checkTiming(epoch, expiresAt, counter); f != universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE {
			return nil, nil, 0, f
		}
		var good bool
		if plain, good = sess.openGCM(domain, vin, d, req.GetFlags(), req.GetProtobufMessageAsBytes()); !good {
			return nil, nil, 0, universal.MessageFault_E_MESSAGEFAULT_ERROR_INVALID_SIGNATURE
		}
		requestHash = append([]byte{byte(signatures.SignatureType_SIGNATURE_TYPE_AES_GCM_PERSONALIZED)}, d.GetTag()...)
	default:
		return nil, nil, 0, universal.MessageFault_E_MESSAGEFAULT_ERROR_BAD_PARAMETER
	}
	if counter > 0 && !sess.acceptCounter(counter) {
		return nil, nil, 0, universal.MessageFault_E_MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
	}
	return plain, requestHash, counter, universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE
}

// checkTiming applies the epoch and expiry rules of protocol.md.
func (sess *vcpSession) checkTiming(epoch []byte, expiresAt, counter uint32) universal.MessageFault_E {
	const maxSecondsWithoutCounter = 30
	now := sess.clock()
	switch {
	case epoch != nil && !bytes.Equal(epoch, sess.epoch[:]):
		return universal.MessageFault_E_MESSAGEFAULT_ERROR_INCORRECT_EPOCH
	case expiresAt != 0 && expiresAt < now:
		return universal.MessageFault_E_MESSAGEFAULT_ERROR_TIME_EXPIRED
	case (counter == 0 || counter < sess.counter) && (expiresAt == 0 || expiresAt-now > maxSecondsWithoutCounter):
		return universal.MessageFault_E_MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG
	}
	return universal.MessageFault_E_MESSAGEFAULT_ERROR_NONE
}

// session returns the session of one domain with one client key, creating
// it (and the car's domain key) on first contact.
func (st *vcpState) session(vin string, domain universal.Domain, clientPub []byte) (*vcpSession, error) {
	dk := vin + "/" + strconv.Itoa(int(domain))
	key := st.keys[dk]
	if key == nil {
		var err error
		if key, err = ecdh.P256().GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
		st.keys[dk] = key
	}
	sk := dk + "/" + hex.EncodeToString(clientPub)
	if sess := st.sessions[sk]; sess != nil {
		return sess, nil
	}
	sess, err := newVCPSession(st.wall, key, clientPub)
	if err != nil {
		return nil, err
	}
	sess.carPub = key.PublicKey().Bytes()
	st.sessions[sk] = sess
	return sess, nil
}

// attachSessionInfo puts the signed session info into reply, bound to the
// client's challenge (its request UUID).
func (st *vcpState) attachSessionInfo(reply *universal.RoutableMessage, sess *vcpSession, vin string, _ universal.Domain, challenge []byte) {
	info, err := proto.Marshal(&signatures.SessionInfo{
		Counter:   sess.counter,
		PublicKey: sess.carPub,
		Epoch:     sess.epoch[:],
		ClockTime: sess.clock(),
		Status:    signatures.Session_Info_Status_SESSION_INFO_STATUS_OK,
	})
	if err != nil {
		return
	}
	reply.Payload = &universal.RoutableMessage_SessionInfo{SessionInfo: info}
	reply.SubSigData = &universal.RoutableMessage_SignatureData{SignatureData: &signatures.SignatureData{
		SigType: &signatures.SignatureData_SessionInfoTag{SessionInfoTag: &signatures.HMAC_Signature_Data{
			Tag: sess.infoTag(vin, challenge, info)}}}}
}

// vcpFault marks reply with a protocol-layer error.
func vcpFault(reply *universal.RoutableMessage, f universal.MessageFault_E) *universal.RoutableMessage {
	reply.SignedMessageStatus = &universal.MessageStatus{
		OperationStatus:    universal.OperationStatus_E_OPERATIONSTATUS_ERROR,
		SignedMessageFault: f,
	}
	return reply
}

// keyPairedLocked reports whether pub is the app key and the user paired
// it with vin, or a key approved with a key-card tap over BLE (TapKeyCard).
// Callers hold s.mu.
func (s *Sim) keyPairedLocked(vin string, pub []byte) bool {
	if s.ble.keyApproved(vin, pub) {
		return true
	}
	a := s.auth()
	if !a.paired[vin] || a.appKey == nil {
		return false
	}
	return fleet.PublicKeyHex(a.appKey) == hex.EncodeToString(pub)
}
