package fleetsim

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	carserver "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/carserver"
	universal "github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/universalmessage"
	"github.com/teslamotors/vehicle-command/pkg/protocol/protobuf/vcsec"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// The SDK drives the BLE happy paths in fleet's tests; these play the
// client by hand for what the SDK never shows: silence, and a broken link.

func bleMessage(t *testing.T, domain universal.Domain, payload proto.Message) []byte {
	t.Helper()
	inner, _ := proto.Marshal(payload)
	raw, err := proto.Marshal(&universal.RoutableMessage{
		ToDestination:   &universal.Destination{SubDestination: &universal.Destination_Domain{Domain: domain}},
		FromDestination: &universal.Destination{SubDestination: &universal.Destination_RoutingAddress{RoutingAddress: make([]byte, 16)}},
		Payload:         &universal.RoutableMessage_ProtobufMessageAsBytes{ProtobufMessageAsBytes: inner},
		Uuid:            make([]byte, 16),
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestBLEInfotainmentIsSilentWhileAsleepVCSECIsNot(t *testing.T) {
	e := newEnv(t)
	s := e.sim
	s.SetBLERange(vinBlue, true, -60) // "Blue Y" sleeps
	conn, err := s.BLERadio().Dial(context.Background(), vinBlue)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	get := &carserver.Action{ActionMsg: &carserver.Action_VehicleAction{VehicleAction: &carserver.VehicleAction{
		VehicleActionMsg: &carserver.VehicleAction_GetVehicleData{GetVehicleData: &carserver.GetVehicleData{}}}}}
	if err := conn.Send(context.Background(), bleMessage(t, universal.Domain_DOMAIN_INFOTAINMENT, get)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-conn.Receive():
		t.Fatalf("asleep infotainment answered %x", m)
	default:
	}
	status := &vcsec.UnsignedMessage{SubMessage: &vcsec.UnsignedMessage_InformationRequest{InformationRequest: &vcsec.InformationRequest{
		InformationRequestType: vcsec.InformationRequestType_INFORMATION_REQUEST_TYPE_GET_STATUS}}}
	if err := conn.Send(context.Background(), bleMessage(t, universal.Domain_DOMAIN_VEHICLE_SECURITY, status)); err != nil {
		t.Fatal(err)
	}
	var reply universal.RoutableMessage
	select {
	case raw := <-conn.Receive():
		if err := proto.Unmarshal(raw, &reply); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the body controller did not answer")
	}
	var from vcsec.FromVCSECMessage
	if err := proto.Unmarshal(reply.GetProtobufMessageAsBytes(), &from); err != nil {
		t.Fatal(err)
	}
	if from.GetVehicleStatus().GetVehicleSleepStatus() != vcsec.VehicleSleepStatus_E_VEHICLE_SLEEP_STATUS_ASLEEP {
		t.Errorf("status = %v, want asleep", from.GetVehicleStatus())
	}
	if st := s.VehicleState(vinBlue); st != fleet.StateAsleep {
		t.Errorf("car is %s, want still asleep", st)
	}
	if c := s.Counts(); len(c) != 0 {
		t.Errorf("Fleet API counts %v, want none for BLE", c)
	}
}

func TestBLELeavingRangeBreaksTheLink(t *testing.T) {
	e := newEnv(t)
	s := e.sim
	s.SetBLERange(vinRed, true, -50)
	radio := s.BLERadio()
	if found, rssi, err := radio.Scan(context.Background(), vinRed); !found || rssi != -50 || err != nil {
		t.Fatalf("Scan = %v, %d, %v", found, rssi, err)
	}
	conn, err := radio.Dial(context.Background(), vinRed)
	if err != nil {
		t.Fatal(err)
	}
	s.SetBLERange(vinRed, false, 0)
	if _, open := <-conn.Receive(); open {
		t.Error("Receive still open after the car left")
	}
	if err := conn.Send(context.Background(), []byte{1}); err == nil {
		t.Error("Send over a broken link succeeded")
	}
	conn.Close() // a second close is harmless
	if found, _, _ := radio.Scan(context.Background(), vinRed); found {
		t.Error("the beacon is still seen")
	}
	if _, err := radio.Dial(context.Background(), vinRed); err == nil {
		t.Error("dialled a car out of range")
	}
	if err := s.TapKeyCard(vinRed); err == nil {
		t.Error("a card tap without a request paired something")
	}
}

func TestBLEBeaconsListsCarsInRangeByLocalName(t *testing.T) {
	e := newEnv(t)
	e.sim.SetBLERange(vinRed, true, -80)
	e.sim.SetBLERange(vinBlue, true, -45)
	bs, err := e.sim.BLERadio().Beacons(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].LocalName != fleet.BLELocalName(vinBlue) || bs[0].RSSI != -45 || bs[1].RSSI != -80 {
		t.Errorf("beacons = %+v, want Blue Y (-45) then Red Three (-80)", bs)
	}
}
