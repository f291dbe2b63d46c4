package bridge

import (
	"context"
	"fmt"
	"sort"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// discover reads the products of the account, adds the devices it finds
// and removes those that left the account (removal.go).
func (b *Bridge) discover(ctx context.Context) error {
	products, err := b.fleet.Products(ctx)
	if err != nil {
		return fmt.Errorf("list products: %w", err)
	}
	var added []*device
	b.mu.Lock()
	removed := b.goneDevices(products)
	for _, p := range products {
		for _, f := range b.families() {
			uid, build := f.adopt(p)
			if uid == "" {
				continue
			}
			if _, ok := b.byUID[uid]; !ok {
				d := build()
				d.bindRows()
				b.register(d)
				added = append(added, d)
			}
			break
		}
	}
	later := b.discovered
	b.discovered = true
	b.mu.Unlock()
	b.removeDevices(removed)
	for _, d := range added {
		b.log.Info().Str("device", d.name).Str("id", d.uid).Msg("device added")
		if later {
			b.publishDeviceEvent(EventDeviceAdded, d)
		}
		d.k.prime(ctx)
		b.publishDevice(d)
	}
	if len(added) > 0 || len(removed) > 0 {
		b.publishInfo()
	}
	return nil
}

// register adds a device to the registry. Callers hold b.mu.
func (b *Bridge) register(d *device) {
	d.hassDevice = d.k.hassDevice()
	b.devices[d.name] = d
	b.byUID[d.uid] = d
}

// filter drops the rows the user disabled and those whose scope the token
// lacks, so nothing is offered that would fail at every poll.
func (b *Bridge) filter(in []*entity.Spec) []*entity.Spec {
	disabled := map[string]bool{}
	for _, k := range b.opts.DisabledEntities {
		disabled[k] = true
	}
	granted := b.granted()
	out := make([]*entity.Spec, 0, len(in))
	for _, e := range in {
		if disabled[e.Key] {
			continue
		}
		if e.Scope != "" && granted != nil && !granted[e.Scope] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// granted returns the granted scopes as a set, or nil when unknown (all allowed).
func (b *Bridge) granted() map[string]bool {
	if b.opts.GrantedScopes == nil {
		return nil
	}
	set := map[string]bool{}
	for _, s := range b.opts.GrantedScopes() {
		set[s] = true
	}
	return set
}

// sortedDevices returns the devices ordered by name, for stable output.
func (b *Bridge) sortedDevices() []*device {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*device, 0, len(b.devices))
	for _, d := range b.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// device returns the device with a topic name, or nil.
func (b *Bridge) device(name string) *device {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.devices[name]
}
