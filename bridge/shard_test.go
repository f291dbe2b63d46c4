package bridge

import (
	"strconv"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Every id belongs to exactly one shard, the same one whatever the order
// ids are asked in; one instance (count 0 or 1) owns them all and keeps
// today's topics.
func TestShardOwnershipPartitions(t *testing.T) {
	const n = 3
	per := make([]int, n)
	for i := range 300 {
		uid := "5YJ3E1EA7PF" + strconv.Itoa(100000+i)
		owners := 0
		for k := range n {
			if (Shard{Index: k, Count: n}).Owns(uid) {
				owners++
				per[k]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners", uid, owners)
		}
		if !(Shard{}).Owns(uid) || !(Shard{Count: 1}).Owns(uid) {
			t.Fatalf("a single instance does not own %s", uid)
		}
	}
	for k, c := range per {
		if c < 60 { // 100 expected; FNV-1a spreads VINs that differ in a few digits
			t.Errorf("shard %d owns %d of 300", k, c)
		}
	}
	if got := BridgeTopics("t", Shard{Count: 1}); got != "t/bridge" {
		t.Errorf("single instance: %s", got)
	}
	if got := BridgeTopics("t", Shard{Index: 2, Count: 3}); got != "t/bridge/shard/2" {
		t.Errorf("shard 2/3: %s", got)
	}
	if s := (Shard{Index: 1, Count: 3}).String(); s != "1/3" {
		t.Errorf("String = %s", s)
	}
}

// A retained bridge request is instance 0's to answer and clear; another
// instance neither answers nor clears it, but expects the empty echo of
// instance 0's clearing, so that the echo does not run as a request (an
// empty refresh would read every device it owns).
func TestShardLeavesRetainedRequestsToInstanceZero(t *testing.T) {
	b, _, pub, _ := newTestBridge(t, func(o *Options) { o.Shard = Shard{Index: 1, Count: 3} })
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
