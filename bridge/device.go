package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// A device kind is two small interfaces and a table. family is the kind as
// a whole: which products of the account it adopts, its first reads and its
// polling jobs. kind is what one device of it does: the rows it reads, its
// HA device block, how it sends a command and confirms it. A new kind is
// one file implementing both, its table in entity, and a line in
// Bridge.families; nothing else branches on kinds.
type family interface {
	// adopt makes the device of a product of the account, or returns ""
	// when the product is not of this kind; build runs under b.mu and only
	// when no device has the uid yet.
	adopt(p fleet.Product) (uid string, build func() *device)
	// start reads the kind's devices once, after the first discovery.
	start(ctx context.Context)
	// jobs are the kind's polling jobs.
	jobs(ctx context.Context) []job
	// prepareRefresh runs before a get or refresh request reads its
	// devices (r.due), for reads the kind makes once for all of them.
	prepareRefresh(ctx context.Context, r *refreshing)
}

// kind is the per-device half of a device kind. Methods that take no
// context run under b.mu.
type kind interface {
	// kindName names the kind on bridge/info and the status page.
	kindName() string
	// view is what the kind's rows read.
	view() any
	// table is every row the device can offer now, before the user's and
	// the token's filter.
	table() []*entity.Spec
	// hassDevice is the HA device block, from what is known now.
	hassDevice() hass.Device
	// stateKeys adds the kind's own keys to the state object ("state", and
	// more for a car).
	stateKeys(m map[string]any)
	// describe fills the kind's own fields of bridge/info and the status
	// page.
	describe(di *DeviceInfo, ds *DeviceStatus)
	// prime reads a new device before its first publish (ctx, no lock).
	prime(ctx context.Context)
	// refresh reads the device now for a get or refresh request; r knows
	// what else the request reads (ctx, no lock).
	refresh(ctx context.Context, r *refreshing)
	// send runs one command (ctx, no lock); woke says whether it woke the
	// device.
	send(ctx context.Context, cmd fleet.Command) (res *fleet.CommandResult, woke bool, err error)
	// confirm reads what a command changed, once (ctx, no lock).
	confirm(ctx context.Context)
	// noteResult learns from a command result before it is published.
	noteResult(r command.Result)
	// owner is the device this one belongs to (a Wall Connector's site): it
	// goes when its owner goes. nil for the account's own products.
	owner() *device
}

// kindBase is the no-op part of a kind, for what a kind does not do.
type kindBase struct{}

func (kindBase) prime(context.Context)               {}
func (kindBase) noteResult(command.Result)           {}
func (kindBase) owner() *device                      { return nil }
func (kindBase) confirm(context.Context)             {}
func (kindBase) describe(*DeviceInfo, *DeviceStatus) {}
func (kindBase) stateKeys(m map[string]any)          { m["state"] = "online" }

// send answers a command for a device whose table has none; the set
// handler refuses such keys before they reach a queue.
func (kindBase) send(context.Context, fleet.Command) (*fleet.CommandResult, bool, error) {
	return nil, false, errors.New("this device takes no commands")
}

// device is one bridged car, site or Wall Connector: what every kind
// shares. All fields are guarded by Bridge.mu.
type device struct {
	k kind
	// name is the topic segment: the configured name, else the VIN or site id.
	name string
	// uid is the id used in unique_ids: the VIN or the site id.
	uid string
	// rows are the rows the device offers: pointers into the kind's shared
	// table, after the user's and the token's filter.
	rows []*entity.Spec
	// hassDevice is the HA device block; rebuilt when the model or firmware changes.
	hassDevice hass.Device
	// updatedAt is the time of the last successful read of any kind.
	updatedAt time.Time
	// lastState is the hash of the last state payload published, to publish
	// on change only.
	lastState [sha256.Size]byte
	// discovered are the rows whose discovery configs were published last,
	// so the configs of rows no longer offered can be cleared.
	discovered []*entity.Spec
	// available is false when the bridge cannot serve the device.
	available bool
	// lastError is the last Fleet error for this device ("" after a success).
	lastError string
	// lastResult is the last command result, for the status page.
	lastResult *command.Result
}

// newDevice returns a device of kind k, its rows not yet bound
// (Bridge.bind).
func newDevice(name, uid string, k kind) *device {
	return &device{k: k, name: name, uid: uid, available: true}
}

// writable reports whether the device has any entity that takes commands.
func (d *device) writable() bool {
	for _, e := range d.rows {
		if e.Writable() {
			return true
		}
	}
	return false
}

// all returns the device's rows plus the bridge's own diagnostic of a
// writable device (the last command result), which every kind has.
func (d *device) all() []*entity.Spec {
	if !d.writable() {
		return d.rows
	}
	out := make([]*entity.Spec, 0, len(d.rows)+1)
	return append(append(out, d.rows...), entity.LastCommandRow())
}

// stateJSON builds the device's state object: every entity key (null when
// absent, so HA templates render None = unknown: one null policy), plus
// the kind's own keys and updated_at.
func (d *device) stateJSON(units string) ([]byte, error) {
	m := make(map[string]any, len(d.rows)+4)
	view := d.k.view()
	for _, e := range d.all() {
		if v, ok := e.StateValue(view, units); ok {
			m[e.Key] = v
		}
	}
	d.k.stateKeys(m)
	if !d.updatedAt.IsZero() {
		m["updated_at"] = d.updatedAt.UTC().Format(time.RFC3339)
	} else {
		m["updated_at"] = nil
	}
	return json.Marshal(m)
}

// entity returns the row of a key, or nil.
func (d *device) entity(key string) *entity.Spec {
	for _, e := range d.rows {
		if e.Key == key {
			return e
		}
	}
	return nil
}

// job is one polling job of the schedule.
type job struct {
	name, spec string
	run        func()
	// paid jobs are stretched near the budget; api jobs pause on EXCEEDED_LIMIT.
	paid, api bool
}

// refreshing is one get or refresh request as the kinds see it: the
// devices it reads, and the cars its connectivity check read already.
type refreshing struct {
	due     []*device
	checked map[*device]bool
}
