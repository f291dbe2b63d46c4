package mqtt

import "github.com/eclipse/paho.mqtt.golang/packets"

// nopStore is a paho Store that keeps nothing, so paho never replays
// in-flight packets after a reconnect. That is what we want with a clean
// session:
//   - inbound: a command the broker sent just before the connection died is
//     not handed to a handler again later (never execute late);
//   - outbound: a publish caught by the drop returns an error to its caller
//     (no acknowledgement), and every connect republishes full state anyway.
//
// It also avoids a data race inside paho v1.5 (eclipse-paho/paho.mqtt.golang
// issue #703): on reconnect, resume() sets the DUP flag on stored publishes
// while the network goroutine may be writing the same packet, which happens
// whenever something publishes right after a reconnect, as we always do.
type nopStore struct{}

func (nopStore) Open()                             {}
func (nopStore) Put(string, packets.ControlPacket) {}
func (nopStore) Get(string) packets.ControlPacket  { return nil }
func (nopStore) All() []string                     { return nil }
func (nopStore) Del(string)                        {}
func (nopStore) Close()                            {}
func (nopStore) Reset()                            {}
