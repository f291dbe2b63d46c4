package device

import (
	"context"
	"slices"

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
	// parent is the connector's energy site; readLive reads the site's
	// live_status, where the connector's values come from.
	parent   *Device
	readLive func(ctx context.Context)
	v        *entity.WallConnectorView
	hd       hass.Device
}

func (w *wallConnector) kindName() string        { return "wall_connector" }
func (w *wallConnector) view() any               { return w.v }
func (w *wallConnector) table() []*entity.Spec   { return entity.WallConnectorTable() }
func (w *wallConnector) hassDevice() hass.Device { return w.hd }
func (w *wallConnector) owner() *Device          { return w.parent }

// facts: the status page and the metrics list a connector with the
// energy sites, as they always have; bridge/info says wall_connector.
func (w *wallConnector) facts(f *Facts) { f.StatusKind = "energy_site" }

// refresh reads the site's live_status, where the connector's values come
// from, unless the site itself is being read in this refresh.
func (w *wallConnector) refresh(ctx context.Context, rf *refreshing) {
	if !slices.Contains(rf.due, w.parent) {
		w.readLive(ctx)
	}
}
