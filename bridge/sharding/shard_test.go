package sharding

import (
	"strconv"
	"testing"
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
