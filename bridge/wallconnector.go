package bridge

import (
	"context"
	"slices"
	"sort"
	"strconv"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The Wall Connector kind: devices of their own, linked to their energy
// site by via_device, with their own state topic <base>/<site name>-wc-<n>.
// They cost no Fleet call: their values come from the site's live_status,
// so the site creates and feeds them, and they go when it goes.

// wallConnector is one Wall Connector.
type wallConnector struct {
	kindBase
	site *site
	v    *entity.WallConnectorView
	hd   hass.Device
}

func (w *wallConnector) kindName() string        { return "wall_connector" }
func (w *wallConnector) view() any               { return w.v }
func (w *wallConnector) table() []*entity.Spec   { return entity.WallConnectorTable() }
func (w *wallConnector) hassDevice() hass.Device { return w.hd }
func (w *wallConnector) owner() *device          { return w.site.d }

// describe: the status page and the metrics list a connector with the
// energy sites, as they always have; bridge/info says wall_connector.
func (w *wallConnector) describe(_ *DeviceInfo, ds *DeviceStatus) {
	if ds != nil {
		ds.Kind = "energy_site"
	}
}

// refresh reads the site's live_status, where the connector's values come
// from, unless the site itself is being read in this refresh.
func (w *wallConnector) refresh(ctx context.Context, r *refreshing) {
	if !slices.Contains(r.due, w.site.d) {
		w.site.poll(ctx, false)
	}
}

// syncWallConnectors creates devices for connectors seen for the first time
// (numbered in DIN order, so the same set always gets the same names) and
// brings the others up to the site's last read. It returns the new ones and
// the existing ones. Callers hold b.mu.
func (s *site) syncWallConnectors() (added, existing []*device) {
	b, d := s.b, s.d
	if s.wallConnectors == nil {
		s.wallConnectors = map[string]*device{}
	}
	var fresh []string
	for _, din := range entity.WallConnectorDINs(s.v) {
		if wc := s.wallConnectors[din]; wc != nil {
			wc.updatedAt = d.updatedAt
			existing = append(existing, wc)
			continue
		}
		fresh = append(fresh, din)
	}
	sort.Strings(fresh)
	for _, din := range fresh {
		n := strconv.Itoa(len(s.wallConnectors) + 1)
		name := d.name + "-wc-" + n
		uid := entity.Sanitize(din)
		if b.devices[name] != nil {
			name = d.name + "-wc-" + uid
		}
		if b.devices[name] != nil || b.byUID[uid] != nil {
			b.log.Warn().Str("din", din).Str("device", name).Msg("wall connector name taken; not bridged")
			continue
		}
		w := &wallConnector{site: s, v: &entity.WallConnectorView{Site: s.v, DIN: din}}
		w.hd = entity.WallConnectorDevice(d.hassDevice, d.name, n, w.v, uid)
		wc := b.newDevice(name, uid, w)
		wc.updatedAt = d.updatedAt
		wc.bindRows()
		s.wallConnectors[din] = wc
		b.register(wc)
		added = append(added, wc)
	}
	return added, existing
}

// publishWallConnectors publishes new connectors whole and the others'
// state; called after the site itself was published, so HA knows the
// via_device before the connectors refer to it.
func (s *site) publishWallConnectors() {
	b := s.b
	b.mu.Lock()
	added, existing := s.syncWallConnectors()
	b.mu.Unlock()
	for _, wc := range added {
		b.log.Info().Str("device", wc.name).Str("din", wc.hassDevice.SerialNumber).Msg("wall connector added")
		b.publishDevice(wc)
	}
	for _, wc := range existing {
		b.publishState(wc, false)
	}
	if len(added) > 0 {
		b.publishInfo()
	}
}
