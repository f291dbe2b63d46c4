package fleetsim

// The vehicle side of the Vehicle Command Protocol's cryptography, written
// from vehicle-command's pkg/protocol/protocol.md ("Key Agreement",
// "Metadata serialization", "HMAC-SHA256 authentication", "AES-GCM
// encryption", "Response decryption") with the standard library only.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"

	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/signatures"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// HMAC labels (protocol.md: the KDF is HMAC-SHA256(K, label)).
const (
	vcpLabelSessionInfo = "session info"
	vcpLabelCommand     = "authenticated command"
)

// vcpMeta serialises metadata: tag, length, value for each item in
// increasing tag order, then TAG_END and the message.
type vcpMeta struct{ h hash.Hash }

func (m vcpMeta) add(tag signatures.Tag, v []byte) {
	if v == nil {
		return
	}
	m.h.Write([]byte{byte(tag), byte(len(v))})
	m.h.Write(v)
}

func (m vcpMeta) addU32(tag signatures.Tag, v uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	m.add(tag, b[:])
}

func (m vcpMeta) sum(message []byte) []byte {
	m.h.Write([]byte{byte(signatures.Tag_TAG_END)})
	m.h.Write(message)
	return m.h.Sum(nil)
}

// vcpSession is one domain's session with one client key: the shared key K
// and the anti-replay state. Its clock is the wall clock (Options.Wall), as
// the SDK's is; the simulator's (possibly manual or scaled) clock plays no
// part.
type vcpSession struct {
	key     []byte // K = SHA1(ECDH x)[:16]
	carPub  []byte // the car's domain public key, sent in session info
	gcm     cipher.AEAD
	epoch   [16]byte
	wall    clock.Clock
	start   time.Time // wall time at clock_time 0
	counter uint32
	window  uint64
}

// newVCPSession derives K from the car's domain key and the client's public key.
func newVCPSession(wall clock.Clock, car *ecdh.PrivateKey, clientPub []byte) (*vcpSession, error) {
	pub, err := ecdh.P256().NewPublicKey(clientPub)
	if err != nil {
		return nil, err
	}
	x, err := car.ECDH(pub)
	if err != nil {
		return nil, err
	}
	digest := sha1.Sum(x)
	s := &vcpSession{key: digest[:16], wall: wall, start: wall.Now()}
	block, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, err
	}
	if s.gcm, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	_, _ = rand.Read(s.epoch[:])
	return s, nil
}

// clock is the session's clock_time in seconds.
func (s *vcpSession) clock() uint32 { return uint32(clock.Since(s.wall, s.start) / time.Second) }

// mac returns an HMAC-SHA256 keyed with the subkey for label.
func (s *vcpSession) mac(label string) hash.Hash {
	kdf := hmac.New(sha256.New, s.key)
	kdf.Write([]byte(label))
	return hmac.New(sha256.New, kdf.Sum(nil))
}

// infoTag authenticates encoded session info for the client's challenge.
func (s *vcpSession) infoTag(vin string, challenge, encoded []byte) []byte {
	m := vcpMeta{s.mac(vcpLabelSessionInfo)}
	m.add(signatures.Tag_TAG_SIGNATURE_TYPE, []byte{byte(signatures.SignatureType_SIGNATURE_TYPE_HMAC)})
	m.add(signatures.Tag_TAG_PERSONALIZATION, []byte(vin))
	m.add(signatures.Tag_TAG_CHALLENGE, challenge)
	return m.sum(encoded)
}

// commandMeta adds the authenticated fields of a signed command.
func (s *vcpSession) commandMeta(m vcpMeta, sigType signatures.SignatureType, domain byte, vin string,
	expiresAt, counter, flags uint32) {
	m.add(signatures.Tag_TAG_SIGNATURE_TYPE, []byte{byte(sigType)})
	m.add(signatures.Tag_TAG_DOMAIN, []byte{domain})
	m.add(signatures.Tag_TAG_PERSONALIZATION, []byte(vin))
	m.add(signatures.Tag_TAG_EPOCH, s.epoch[:])
	m.addU32(signatures.Tag_TAG_EXPIRES_AT, expiresAt)
	m.addU32(signatures.Tag_TAG_COUNTER, counter)
	if flags > 0 { // flags only count when set, for older clients
		m.addU32(signatures.Tag_TAG_FLAGS, flags)
	}
}

// hmacTag is the expected tag of an HMAC-authenticated command.
func (s *vcpSession) hmacTag(domain byte, vin string, d *signatures.HMAC_Personalized_Signature_Data, flags uint32, payload []byte) []byte {
	m := vcpMeta{s.mac(vcpLabelCommand)}
	s.commandMeta(m, signatures.SignatureType_SIGNATURE_TYPE_HMAC_PERSONALIZED, domain, vin, d.GetExpiresAt(), d.GetCounter(), flags)
	return m.sum(payload)
}

// openGCM decrypts an AES-GCM command; ok is false when it does not authenticate.
func (s *vcpSession) openGCM(domain byte, vin string, d *signatures.AES_GCM_Personalized_Signature_Data, flags uint32, ciphertext []byte) ([]byte, bool) {
	m := vcpMeta{sha256.New()}
	s.commandMeta(m, signatures.SignatureType_SIGNATURE_TYPE_AES_GCM_PERSONALIZED, domain, vin, d.GetExpiresAt(), d.GetCounter(), flags)
	aad := m.sum(nil)
	if len(d.GetNonce()) != s.gcm.NonceSize() {
		return nil, false
	}
	sealed := append(append([]byte{}, ciphertext...), d.GetTag()...)
	plain, err := s.gcm.Open(nil, d.GetNonce(), sealed, aad)
	return plain, err == nil
}

// sealResponse encrypts an answer for FLAG_ENCRYPT_RESPONSE ("Response
// metadata": the flags are the response's and always included).
func (s *vcpSession) sealResponse(domain byte, vin string, counter, flags uint32, requestHash []byte, fault uint32, plain []byte) (nonce, ciphertext, tag []byte) {
	m := vcpMeta{sha256.New()}
	m.add(signatures.Tag_TAG_SIGNATURE_TYPE, []byte{byte(signatures.SignatureType_SIGNATURE_TYPE_AES_GCM_RESPONSE)})
	m.add(signatures.Tag_TAG_DOMAIN, []byte{domain})
	m.add(signatures.Tag_TAG_PERSONALIZATION, []byte(vin))
	m.addU32(signatures.Tag_TAG_COUNTER, counter)
	m.addU32(signatures.Tag_TAG_FLAGS, flags)
	m.add(signatures.Tag_TAG_REQUEST_HASH, requestHash)
	m.addU32(signatures.Tag_TAG_FAULT, fault)
	aad := m.sum(nil)
	nonce = make([]byte, s.gcm.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := s.gcm.Seal(nil, nonce, plain, aad)
	return nonce, sealed[:len(plain)], sealed[len(plain):]
}

// acceptCounter applies the 32-message sliding anti-replay window.
func (s *vcpSession) acceptCounter(c uint32) bool {
	const windowSize = 32
	switch {
	case c == s.counter:
		return false
	case c < s.counter:
		age := s.counter - c
		if age > windowSize || s.window>>(age-1)&1 == 1 {
			return false
		}
		s.window |= 1 << (age - 1)
		return true
	}
	shift := c - s.counter
	if shift >= 64 {
		s.window = 0
	} else {
		s.window <<= shift
	}
	if shift <= 64 {
		s.window |= 1 << (shift - 1)
	}
	s.counter = c
	return true
}
