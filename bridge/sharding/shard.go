package sharding

import (
	"hash/fnv"
	"strconv"
)

// Shard is this instance's part of the account's devices.
type Shard struct {
	// Index is this instance's shard, 0 ≤ Index < Count; Count 1 (or 0)
	// is a single instance owning every device.
	Index, Count int
}

// Sharded reports whether the account is split between instances.
func (s Shard) Sharded() bool { return s.Count > 1 }

// Owns reports whether uid (a VIN or an energy site id) is this shard's:
// FNV-1a of the id modulo Count, the same on every start and in every
// instance whatever order Tesla lists the products in.
func (s Shard) Owns(uid string) bool {
	if !s.Sharded() {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(uid))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// String is "i/n", as responses name their shard.
func (s Shard) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// BridgeTopics is the prefix of the bridge's own retained topics (state,
// info, status): <base>/bridge, or <base>/bridge/shard/<i> for a shard.
func BridgeTopics(base string, s Shard) string {
	if !s.Sharded() {
		return base + "/bridge"
	}
	return base + "/bridge/shard/" + strconv.Itoa(s.Index)
}
