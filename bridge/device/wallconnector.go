package device

import (
	"context"
	"slices"
	"strings"

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

// wcSep joins a site's name and a Wall Connector's id in the connector's
// topic name ("<site>-wc-<n>"), so the name alone says which site owns it.
const wcSep = "-wc-"

// SiteNameOf is the owning site's topic name for a Wall Connector's topic
// name, and name itself for every other device.
func SiteNameOf(name string) string {
	if i := strings.LastIndex(name, wcSep); i > 0 {
		return name[:i]
	}
	return name
}
