package fleetsim

// The simulated cars' Bluetooth side. BLERadio stands in for the host's
// adapter: Scan sees the beacons of the cars a test put in range, Dial
// returns an in-memory connector.Connector whose Send hands the protocol
// bytes to the same car the Fleet API routes play (vcp.go verifies them:
// sessions, AES-GCM, counters, key pairing). Over BLE the body controller
// (VCSEC) answers asleep or awake and without a key; infotainment answers
// only awake and sends nothing at all while asleep, as a real car does;
// nothing is metered, since nothing reaches Tesla's cloud.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/teslamotors/vehicle-command/pkg/connector"
	universal "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/universalmessage"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// ErrBLELinkLost is what a simulated link answers once its car left range.
var ErrBLELinkLost = errors.New("fleetsim: bluetooth link lost")

// bleState is every car's Bluetooth side. Guarded by Sim.mu.
type bleState struct {
	cars   map[string]*bleCar // by VIN
	counts map[string]int     // messages by kind, for tests (BLECounts)
}

// bleCar is one car's radio: in range or not, and its key-card pairing.
type bleCar struct {
	inRange bool
	rssi    int
	pending []byte          // public key of an add-key request awaiting the card
	keys    map[string]bool // hex public keys approved with the card
	conns   []*bleConn
}

func newBLEState() bleState {
	return bleState{cars: map[string]*bleCar{}, counts: map[string]int{}}
}

// car returns vin's radio state, creating it (out of range).
func (b *bleState) car(vin string) *bleCar {
	c := b.cars[vin]
	if c == nil {
		c = &bleCar{keys: map[string]bool{}}
		b.cars[vin] = c
	}
	return c
}

// keyApproved reports whether pub was paired with vin by a key-card tap.
func (b *bleState) keyApproved(vin string, pub []byte) bool {
	c := b.cars[vin]
	return c != nil && c.keys[hex.EncodeToString(pub)]
}

// SetBLERange puts a car in Bluetooth range of the adapter (with the RSSI
// its beacon arrives at, e.g. -60) or takes it out. Leaving range breaks
// every open link: their Sends fail and their Receive channels close.
func (s *Sim) SetBLERange(vin string, inRange bool, rssi int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ble.car(vin)
	c.inRange, c.rssi = inRange, rssi
	if !inRange {
		for _, conn := range c.conns {
			conn.drop()
		}
		c.conns = nil
	}
}

// TapKeyCard plays the user approving the pending add-key request with a
// key card on the center console: the requested key is paired with the
// car from now on, over BLE and the Fleet API alike (when it is the app's
// key, fleet_status lists the car as paired).
func (s *Sim) TapKeyCard(vin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ble.cars[vin]
	if c == nil || c.pending == nil {
		return fmt.Errorf("fleetsim: no add-key request is waiting in %s", vin)
	}
	c.keys[hex.EncodeToString(c.pending)] = true
	if a := s.auth(); a.appKey != nil && fleet.PublicKeyHex(a.appKey) == hex.EncodeToString(c.pending) {
		a.paired[vin] = true
	}
	c.pending = nil
	return nil
}

// BLEPairingPending reports whether an add-key request waits for the card.
func (s *Sim) BLEPairingPending(vin string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ble.cars[vin]
	return c != nil && c.pending != nil
}

// BLECounts returns the messages the cars received over Bluetooth, by
// kind: "vcsec_status" (body controller state), "handshake", "get_state",
// "command", "wake", "add_key". None of them is billable.
func (s *Sim) BLECounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.ble.counts))
	for k, n := range s.ble.counts {
		out[k] = n
	}
	return out
}

// BLERadio returns the simulated adapter near the cars.
func (s *Sim) BLERadio() *BLERadio { return &BLERadio{s: s} }

// BLERadio is a fleet.BLERadio over the simulated cars.
type BLERadio struct{ s *Sim }

var _ fleet.BLERadio = (*BLERadio)(nil)

// Scan reports the car's beacon at once: in range or not, no waiting.
func (r *BLERadio) Scan(ctx context.Context, vin string) (bool, int, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	c := r.s.ble.cars[vin]
	if c == nil || !c.inRange || r.s.vehicleByTag(vin) == nil {
		return false, 0, nil
	}
	return true, c.rssi, nil
}

// Beacons lists every car in range, by local name, strongest first.
func (r *BLERadio) Beacons(ctx context.Context) ([]fleet.BLEBeacon, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var out []fleet.BLEBeacon
	for vin, c := range r.s.ble.cars {
		if c.inRange && r.s.vehicleByTag(vin) != nil {
			out = append(out, fleet.BLEBeacon{LocalName: fleet.BLELocalName(vin), RSSI: c.rssi,
				Address: "sim:" + vin[len(vin)-6:], Connectable: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RSSI > out[j].RSSI })
	return out, nil
}

// Dial opens a link to a car in range.
func (r *BLERadio) Dial(ctx context.Context, vin string) (connector.Connector, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	c := r.s.ble.cars[vin]
	if c == nil || !c.inRange || r.s.vehicleByTag(vin) == nil {
		return nil, fmt.Errorf("fleetsim: %s is not in Bluetooth range", vin)
	}
	conn := &bleConn{s: r.s, vin: vin, inbox: make(chan []byte, connector.BufferSize)}
	c.conns = append(c.conns, conn)
	return conn, nil
}

// bleConn is one in-memory link: a connector.Connector whose Send plays
// the car synchronously and queues its answer on Receive.
type bleConn struct {
	s   *Sim
	vin string

	mu     sync.Mutex // guards closed and sends on inbox; taken after Sim.mu, never before
	closed bool
	inbox  chan []byte
}

var _ connector.Connector = (*bleConn)(nil)

// Receive delivers the car's answers.
func (c *bleConn) Receive() <-chan []byte { return c.inbox }

// Send hands one message to the car. It fails once the car left range.
func (c *bleConn) Send(_ context.Context, buf []byte) error {
	reply, err := c.s.bleExchange(c, buf)
	if err != nil {
		return err
	}
	if reply != nil {
		c.mu.Lock()
		if !c.closed {
			select {
			case c.inbox <- reply:
			default: // a full queue drops, as a radio would
			}
		}
		c.mu.Unlock()
	}
	return nil
}

// VIN is the car at the other end.
func (c *bleConn) VIN() string { return c.vin }

// Close ends the link; it may be called more than once.
func (c *bleConn) Close() {
	c.s.mu.Lock()
	if car := c.s.ble.cars[c.vin]; car != nil {
		for i, x := range car.conns {
			if x == c {
				car.conns = append(car.conns[:i:i], car.conns[i+1:]...)
				break
			}
		}
	}
	c.drop()
	c.s.mu.Unlock()
}

// drop closes the link's inbox once. Callers hold Sim.mu.
func (c *bleConn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.inbox)
	}
}

// PreferredAuthMethod is BLE's: AES-GCM, as vehicle-command's connector/ble.
func (c *bleConn) PreferredAuthMethod() connector.AuthMethod { return connector.AuthMethodGCM }

// RetryInterval is short: the SDK's own retries (a busy car, a counter
// resync) then cost the tests no noticeable wall time.
func (c *bleConn) RetryInterval() time.Duration { return 5 * time.Millisecond }

// AllowedLatency is connector/ble's.
func (c *bleConn) AllowedLatency() time.Duration { return 4 * time.Second }

// bleExchange plays the car for one message of a link and returns its
// answer (nil: the car says nothing).
func (s *Sim) bleExchange(c *bleConn, buf []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	car := s.ble.cars[c.vin]
	if closed || car == nil || !car.inRange {
		return nil, ErrBLELinkLost
	}
	now := s.clock.Now()
	s.advanceLocked(now)
	v := s.vehicleByTag(c.vin)
	if v == nil {
		return nil, ErrBLELinkLost
	}
	var msg universal.RoutableMessage
	if proto.Unmarshal(buf, &msg) != nil {
		return nil, nil
	}
	if msg.GetToDestination() == nil {
		s.bleAddKeyRequest(car, buf)
		return nil, nil
	}
	reply := s.bleAnswer(&request{Now: now, Vehicle: v, BLE: true}, v, &msg)
	if reply == nil {
		return nil, nil
	}
	out, err := proto.Marshal(reply)
	if err != nil {
		return nil, nil
	}
	return out, nil
}

// bleAnswer answers a routable message over BLE: VCSEC's unauthenticated
// status request is answered in any state and for any key; infotainment
// stays silent while asleep; everything else is the signed protocol of vcp.go.
func (s *Sim) bleAnswer(r *request, v *vehicleSim, msg *universal.RoutableMessage) *universal.RoutableMessage {
	domain := msg.GetToDestination().GetDomain()
	unsigned := msg.GetSignatureData() == nil && msg.GetSessionInfoRequest() == nil
	switch {
	case domain == universal.Domain_DOMAIN_VEHICLE_SECURITY && unsigned:
		return s.bleVCSECInfo(msg, v)
	case domain == universal.Domain_DOMAIN_INFOTAINMENT && !v.online():
		return nil
	case msg.GetSessionInfoRequest() != nil:
		s.ble.counts["handshake"]++
	}
	return s.vcp().answer(s, r, v, msg)
}

// bleVCSECInfo answers VCSEC's unsigned information request with the body
// controller's status; it neither wakes the car nor keeps it awake.
func (s *Sim) bleVCSECInfo(msg *universal.RoutableMessage, v *vehicleSim) *universal.RoutableMessage {
	reply := &universal.RoutableMessage{
		ToDestination: &universal.Destination{SubDestination: &universal.Destination_RoutingAddress{
			RoutingAddress: msg.GetFromDestination().GetRoutingAddress()}},
		FromDestination: &universal.Destination{SubDestination: &universal.Destination_Domain{
			Domain: universal.Domain_DOMAIN_VEHICLE_SECURITY}},
		RequestUuid: msg.GetUuid(),
	}
	var in vcsec.UnsignedMessage
	if proto.Unmarshal(msg.GetProtobufMessageAsBytes(), &in) != nil ||
		in.GetInformationRequest().GetInformationRequestType() != vcsec.InformationRequestType_INFORMATION_REQUEST_TYPE_GET_STATUS {
		return vcpFault(reply, universal.MessageFault_E_MESSAGEFAULT_ERROR_BAD_PARAMETER)
	}
	s.ble.counts["vcsec_status"]++
	out, _ := proto.Marshal(&vcsec.FromVCSECMessage{SubMessage: &vcsec.FromVCSECMessage_VehicleStatus{
		VehicleStatus: v.vcsecStatus()}})
	reply.Payload = &universal.RoutableMessage_ProtobufMessageAsBytes{ProtobufMessageAsBytes: out}
	return reply
}

// bleAddKeyRequest records an add-key request: vehicle-command sends it
// as a bare VCSEC message (no routing envelope), signed by "presenting"
// the key, and the car waits for the key card. Callers hold Sim.mu.
func (s *Sim) bleAddKeyRequest(car *bleCar, buf []byte) {
	var to vcsec.ToVCSECMessage
	if proto.Unmarshal(buf, &to) != nil ||
		to.GetSignedMessage().GetSignatureType() != vcsec.SignatureType_SIGNATURE_TYPE_PRESENT_KEY {
		return
	}
	var in vcsec.UnsignedMessage
	if proto.Unmarshal(to.GetSignedMessage().GetProtobufMessageAsBytes(), &in) != nil {
		return
	}
	key := in.GetWhitelistOperation().GetAddKeyToWhitelistAndAddPermissions().GetKey().GetPublicKeyRaw()
	if len(key) == 0 {
		return
	}
	s.ble.counts["add_key"]++
	car.pending = append([]byte(nil), key...)
}

// bleTouch counts a message that came over BLE and plays its effect on the
// car's idle timer: a read keeps an awake car awake, a command is the
// car's own activity. A sleeping car's body controller (a lock over BLE)
// leaves the timers alone: the car sleeps on. The signed_command route
// already does both for the Fleet API, where the car is always awake.
func (s *Sim) bleTouch(r *request, v *vehicleSim, kind string, activity bool) {
	if !r.BLE {
		return
	}
	s.ble.counts[kind]++
	switch {
	case !v.online():
	case activity:
		v.touch(r.Now)
	case kind == "get_state":
		v.touchRead(r.Now)
	}
}

// cmdRKEWake is the body controller's wake: an asleep car comes online
// WakeDelay later, as after wake_up, but nothing is billed over BLE.
func cmdRKEWake(c *vehicleCmd) (bool, string) {
	pending := !c.V.wakeAt.IsZero()
	c.V.wake(c.R.Now, c.S.opts.WakeDelay)
	if !pending && !c.V.wakeAt.IsZero() {
		c.V.wakeByBLE = c.R.BLE
	}
	return true, ""
}
