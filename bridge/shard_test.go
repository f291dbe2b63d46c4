package bridge

import (
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/sharding"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// A retained bridge request is instance 0's to answer and clear; another
// instance neither answers nor clears it, but expects the empty echo of
// instance 0's clearing, so that the echo does not run as a request (an
// empty refresh would read every device it owns).
func TestShardLeavesRetainedRequestsToInstanceZero(t *testing.T) {
	b, _, pub, _ := newTestBridge(t, func(o *Options) { o.Shard = sharding.Shard{Index: 1, Count: 3} })
	topic := "t2m/bridge/request/refresh"
	payload := []byte(`{"transaction":"old"}`)
	if err := pub.Publish(topic, payload, true); err != nil { // the broker keeps it
		t.Fatal(err)
	}
	// Delivered after the bridge's t2m/bridge/request/+ (filters in order),
	// on the same delivery: once it has the message, the bridge has too.
	seen := make(chan struct{}, 1)
	if err := pub.Subscribe(topic, func(mqtt.Message) { seen <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	pub.Inject(mqtt.Message{Topic: topic, Payload: payload, Retained: true})
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		t.Fatal("the retained request was not delivered")
	}
	if !b.echoOfClear(topic) {
		t.Error("instance 1 does not expect the echo of instance 0's clearing")
	}
	if n := pub.Count("t2m/bridge/response/refresh"); n != 0 {
		t.Errorf("instance 1 answered a retained request %d times", n)
	}
	if _, ok := pub.Retained(topic); !ok {
		t.Error("instance 1 cleared the retained request; that is instance 0's")
	}
}
