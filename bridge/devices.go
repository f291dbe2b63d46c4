package bridge

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
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
		switch {
		case p.IsVehicle():
			if _, ok := b.byUID[p.VIN]; ok {
				continue
			}
			d := b.newVehicle(p)
			added = append(added, d)
		case p.IsEnergySite():
			uid := strconv.FormatInt(p.EnergySiteID, 10)
			if _, ok := b.byUID[uid]; ok {
				continue
			}
			added = append(added, b.newSite(p))
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
		if d.kind == kindSite {
			b.primeSite(ctx, d)
		}
		b.publishDevice(d)
	}
	if len(added) > 0 || len(removed) > 0 {
		b.publishInfo()
	}
	return nil
}

func (b *Bridge) newVehicle(p fleet.Product) *device {
	name := p.VIN
	for _, v := range b.opts.Vehicles {
		if v.VIN == p.VIN && v.Name != "" {
			name = v.Name
		}
	}
	view := &VehicleView{VIN: p.VIN, DisplayName: p.DisplayName, State: p.State, CommandSigning: p.CommandSigning}
	d := &device{kind: kindVehicle, name: name, uid: p.VIN, vehicle: view, available: true,
		lastDiscovery: map[string][]byte{}}
	d.entities = b.filter(bind(vehicleRows(), func() *VehicleView { return view }))
	d.hassDevice = vehicleHassDevice(d)
	b.devices[name] = d
	b.byUID[p.VIN] = d
	return d
}

func (b *Bridge) newSite(p fleet.Product) *device {
	uid := strconv.FormatInt(p.EnergySiteID, 10)
	name := uid
	for _, s := range b.opts.Sites {
		if s.ID == p.EnergySiteID && s.Name != "" {
			name = s.Name
		}
	}
	view := &SiteView{ID: p.EnergySiteID, Name: p.SiteName, Components: p.Components}
	d := &device{kind: kindSite, name: name, uid: uid, site: view, available: true,
		lastDiscovery: map[string][]byte{}}
	d.entities = b.siteBindings(view)
	d.hassDevice = siteHassDevice(d, p)
	b.devices[name] = d
	b.byUID[uid] = d
	return d
}

// vehicleRows is the whole car table: the entities of vehicle_entities.go
// plus the pairing diagnostics.
func vehicleRows() []Entity[*VehicleView] {
	rows := make([]Entity[*VehicleView], 0, len(vehicleEntities)+len(pairingEntities))
	return append(append(rows, vehicleEntities...), pairingEntities...)
}

// filter drops the entities the user disabled and those whose scope the
// token lacks, so nothing is offered that would fail at every poll.
func (b *Bridge) filter(in []binding) []binding {
	disabled := map[string]bool{}
	for _, k := range b.opts.DisabledEntities {
		disabled[k] = true
	}
	granted := b.granted()
	out := in[:0]
	for _, e := range in {
		if disabled[e.key] {
			continue
		}
		if e.scope != "" && granted != nil && !granted[e.scope] {
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
