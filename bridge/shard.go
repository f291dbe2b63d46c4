package bridge

import (
	"strconv"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
)

// Several instances, one account (README "Several instances"). Each
// instance owns the devices whose stable hash falls into its shard: it
// alone reads, publishes and commands them. The instances share the
// broker's request topics and tell by ownership who acts: a set or get for
// a device (or for a name that is no device) is handled by the owner of
// the name's hash and dropped by the others; an account-wide request
// (republish, refresh without a device) is carried out by every instance
// for its own devices, each answering with its shard. What is one per
// instance moves under <base>/bridge/shard/<i>/: state (the last will),
// info and status.

// answersUnknown reports whether this instance answers requests for a
// device that no instance has: the single one, or shard 0.
func (b *Bridge) answersUnknown() bool { return b.opts.Shard.Index == 0 }

// notMine reports whether a message for device name is another
// instance's to handle. The owner is found from the name alone (uidOf),
// not from the product list, so that the messages that arrive before the
// first list (retained ones, replayed on subscribe) have an owner too; a
// name that is no device is answered (unknown_device) by the instance its
// hash falls to, once. A single instance handles everything.
func (b *Bridge) notMine(name string) bool {
	return !b.opts.Shard.Owns(b.uidOf(name)) // a single instance owns every uid
}

// uidOf is the VIN or site id behind a topic name: a configured name's,
// else the name itself (unnamed devices are named by their id); a Wall
// Connector's is its site's, which owns it.
func (b *Bridge) uidOf(name string) string {
	name = device.SiteNameOf(name)
	for _, v := range b.opts.Vehicles {
		if v.Name == name {
			return v.VIN
		}
	}
	for _, s := range b.opts.Sites {
		if s.Name == name {
			return strconv.FormatInt(s.ID, 10)
		}
	}
	return name
}

// shardName is the shard a response names ("" for a single instance).
func (b *Bridge) shardName() string {
	if !b.opts.Shard.Sharded() {
		return ""
	}
	return b.opts.Shard.String()
}
