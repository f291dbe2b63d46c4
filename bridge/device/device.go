package device

import (
	"context"
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
// one file implementing both, its table in entity, and a line in New;
// nothing else branches on kinds.
type family interface {
	// adopt makes the device of a product of the account, or returns ""
	// when the product is not of this kind; build runs under r.mu and only
	// when no device has the uid yet.
	adopt(p fleet.Product) (uid string, build func() *Device)
	// start reads the kind's devices once, after the first discovery.
	start(ctx context.Context)
	// jobs are the kind's polling jobs.
	jobs(ctx context.Context) []Job
	// prepareRefresh runs before a get or refresh request reads its
	// devices (rf.due), for reads the kind makes once for all of them.
	prepareRefresh(ctx context.Context, rf *refreshing)
}

// kind is the per-device half of a device kind. Methods that take no
// context run under r.mu.
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
	// facts fills in what the kind knows beyond the generic device, for
	// bridge/info and the status page.
	facts(f *Facts)
	// prime reads a new device before its first publish (ctx, no lock).
	prime(ctx context.Context)
	// refresh reads the device now for a get or refresh request; rf knows
	// what else the request reads (ctx, no lock).
	refresh(ctx context.Context, rf *refreshing)
	// send runs one command (ctx, no lock); how says whether it woke the
	// device and which way the command went.
	send(ctx context.Context, cmd fleet.Command) (res *fleet.CommandResult, how command.Sent, err error)
	// confirm reads what a command changed, once (ctx, no lock).
	confirm(ctx context.Context)
	// noteResult learns from a command result before it is published.
	noteResult(res command.Result)
	// owner is the device this one belongs to (a Wall Connector's site): it
	// goes when its owner goes. nil for the account's own products.
	owner() *Device
}

// kindBase is the no-op part of a kind, for what a kind does not do.
type kindBase struct{}

func (kindBase) prime(context.Context)      {}
func (kindBase) noteResult(command.Result)  {}
func (kindBase) owner() *Device             { return nil }
func (kindBase) confirm(context.Context)    {}
func (kindBase) facts(*Facts)               {}
func (kindBase) stateKeys(m map[string]any) { m["state"] = "online" }

// send answers a command for a device whose table has none; the set
// handler refuses such keys before they reach a queue.
func (kindBase) send(context.Context, fleet.Command) (*fleet.CommandResult, command.Sent, error) {
	return nil, command.Sent{}, errors.New("this device takes no commands")
}

// Device is one bridged car, site or Wall Connector: what every kind
// shares. Its fields are guarded by the registry's lock; the accessors
// read them, callers hold the lock.
type Device struct {
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
	// lastError is the last Fleet error for this device ("" after a success).
	lastError string
	// pool holds the device's lane (nil until registered).
	pool *pool
}

// newDevice returns a device of kind k, its rows not yet bound
// (Registry.bind).
func newDevice(name, uid string, k kind) *Device {
	return &Device{k: k, name: name, uid: uid}
}

// Name is the device's topic segment.
func (d *Device) Name() string { return d.name }

// UID is the VIN or the site id, the id in unique_ids.
func (d *Device) UID() string { return d.uid }

// Kind names the device's kind on bridge/info: vehicle, energy_site or
// wall_connector.
func (d *Device) Kind() string { return d.k.kindName() }

// View is what the device's rows read (an entity view).
func (d *Device) View() any { return d.k.view() }

// Rows are the rows the device offers.
func (d *Device) Rows() []*entity.Spec { return d.rows }

// HassDevice is the device's Home Assistant device block.
func (d *Device) HassDevice() hass.Device { return d.hassDevice }

// UpdatedAt is the time of the last successful read.
func (d *Device) UpdatedAt() time.Time { return d.updatedAt }

// LastError is the last failed read's error ("" after a success).
func (d *Device) LastError() string { return d.lastError }

// Facts is what the device's kind knows beyond the generic device.
func (d *Device) Facts() Facts {
	var f Facts
	d.k.facts(&f)
	return f
}

// NoteResult lets the kind learn from a command result before it is
// published (a car's key turned out unpaired).
func (d *Device) NoteResult(r command.Result) { d.k.noteResult(r) }

// Send runs one command on the device; the kind picks the route and wakes
// a car that sleeps. Called without the lock.
// It holds the device's lane, so it never runs beside a read of it.
func (d *Device) Send(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, command.Sent, error) {
	release, ok := d.hold(ctx)
	if !ok {
		return nil, command.Sent{}, ctx.Err()
	}
	defer release()
	return d.k.send(ctx, cmd)
}

// Confirm reads what a command changed, once, on the device's lane: a
// poll of the device waits for it rather than racing it. Called without
// the lock.
func (d *Device) Confirm(ctx context.Context) {
	release, ok := d.hold(ctx)
	if !ok {
		return
	}
	defer release()
	d.k.confirm(ctx)
}

// hold takes the device's lane (pool.go); a device not yet registered has
// none to take.
func (d *Device) hold(ctx context.Context) (func(), bool) {
	if d.pool == nil {
		return func() {}, true
	}
	return d.pool.Hold(ctx, d)
}

// writable reports whether the device has any entity that takes commands.
func (d *Device) writable() bool {
	for _, e := range d.rows {
		if e.Writable() {
			return true
		}
	}
	return false
}

// All returns the device's rows plus the bridge's own rows: the last
// command result of a writable device, and the Refresh button of a car or
// site (the get topic).
func (d *Device) All() []*entity.Spec {
	refresh := d.Kind() == "vehicle" || d.Kind() == "energy_site"
	if !d.writable() && !refresh {
		return d.rows
	}
	out := make([]*entity.Spec, 0, len(d.rows)+2)
	out = append(out, d.rows...)
	if d.writable() {
		out = append(out, entity.LastCommandRow())
	}
	if refresh {
		out = append(out, entity.RefreshRow())
	}
	return out
}

// StateJSON builds the device's state object: every entity key (null when
// absent, so HA templates render None = unknown: one null policy), plus
// the kind's own keys and updated_at.
func (d *Device) StateJSON(units string) ([]byte, error) {
	m := make(map[string]any, len(d.rows)+4)
	view := d.k.view()
	for _, e := range d.All() {
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

// Entity returns the row of a key, or nil.
func (d *Device) Entity(key string) *entity.Spec {
	for _, e := range d.rows {
		if e.Key == key {
			return e
		}
	}
	return nil
}

// Facts are what a kind knows beyond the generic device, for bridge/info
// and the status page.
type Facts struct {
	// State is a car's Fleet state: online, asleep or offline ("" for
	// other kinds).
	State string
	// Polling is a car's polling state (asleep, driving, idle…).
	Polling string
	// StatusKind, when set, is the kind the status page and the metrics
	// list the device under.
	StatusKind string
	// CommandSigning is required, allowed or off as far as known;
	// KeyPaired is nil when the pairing is not known; PairingURL is the
	// car's own pairing link.
	CommandSigning  string
	SigningRequired bool
	KeyPaired       *bool
	PairingURL      string
}

// Job is one polling job of a kind, registered by the bridge on its
// scheduler.
type Job struct {
	Name, Spec string
	Run        func()
	// Paid jobs are stretched near the budget; API jobs pause on
	// EXCEEDED_LIMIT.
	Paid, API bool
}

// refreshing is one get or refresh request as the kinds see it: the
// devices it reads, and the cars its connectivity check read already.
type refreshing struct {
	due     []*Device
	checked map[*Device]bool
}
