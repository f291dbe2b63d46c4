package bridge

import (
	"sort"
	"strconv"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// Wall Connectors are devices of their own, linked to their energy site by
// via_device, with their own state topic <base>/<site name>-wc-<n>. They
// cost no Fleet call: their values come from the site's live_status.

// kindWallConnector lies outside device.go's iota block, so a kind added
// there never collides with it.
const kindWallConnector deviceKind = 16

// wcView is what Wall Connector entities read: the site's view and the
// connector's DIN.
type wcView struct {
	site *SiteView
	din  string
}

// data is the connector's entry of the last live_status (empty if absent).
func (w *wcView) data() *fleet.WallConnector {
	ls := live(w.site)
	for i := range ls.WallConnectors {
		if ls.WallConnectors[i].DIN == w.din {
			return &ls.WallConnectors[i]
		}
	}
	return &fleet.WallConnector{}
}

// wallConnectorEntities is the Wall Connector table. wall_connector_state
// and fault_state are Tesla's numeric codes, published as they are: their
// meanings are not documented (FLEET_API §5).
var wallConnectorEntities = []Entity[*wcView]{
	{Key: "power", Platform: hass.Sensor, Name: "Power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus,
		Value: func(w *wcView) any { return w.data().Power }},
	// Not "state": the state object's own "state" key is the device's.
	{Key: "wall_connector_state", Platform: hass.Sensor, Name: "State", Icon: "mdi:ev-station",
		Source: SourceLiveStatus,
		Value:  func(w *wcView) any { return w.data().State }},
	{Key: "fault_state", Platform: hass.Sensor, Name: "Fault state", Icon: "mdi:alert-circle-outline",
		Category: hass.CategoryDiagnostic, Source: SourceLiveStatus,
		Value: func(w *wcView) any { return w.data().FaultState }},
	{Key: "vin", Platform: hass.Sensor, Name: "Vehicle", Icon: "mdi:car-electric", Source: SourceLiveStatus,
		Value: func(w *wcView) any { return w.data().VIN }},
}

// wallConnectorDINs lists the DINs the site reports, live_status first.
func wallConnectorDINs(s *SiteView) []string {
	seen := map[string]bool{}
	var out []string
	add := func(din string) {
		if din != "" && sanitize(din) != "" && !seen[din] {
			seen[din] = true
			out = append(out, din)
		}
	}
	for _, wc := range live(s).WallConnectors {
		add(wc.DIN)
	}
	for _, wc := range siteComponents(s).WallConnectors {
		add(wc.DIN)
	}
	return out
}

// wallConnectorModel is the part name site_info gives the connector.
func wallConnectorModel(s *SiteView, din string) string {
	for _, wc := range siteComponents(s).WallConnectors {
		if wc.DIN == din && wc.PartName != "" {
			return wc.PartName
		}
	}
	return "Wall Connector"
}

// syncWallConnectors creates devices for connectors seen for the first time
// (numbered in DIN order, so the same set always gets the same names) and
// brings the others up to the site's last read. It returns the new ones and
// the existing ones. Callers hold b.mu.
func (b *Bridge) syncWallConnectors(d *device) (added, existing []*device) {
	if d.site.wallConnectors == nil {
		d.site.wallConnectors = map[string]*device{}
	}
	var fresh []string
	for _, din := range wallConnectorDINs(d.site) {
		if wc := d.site.wallConnectors[din]; wc != nil {
			wc.updatedAt = d.updatedAt
			existing = append(existing, wc)
			continue
		}
		fresh = append(fresh, din)
	}
	sort.Strings(fresh)
	for _, din := range fresh {
		n := strconv.Itoa(len(d.site.wallConnectors) + 1)
		name := d.name + "-wc-" + n
		uid := sanitize(din)
		if b.devices[name] != nil {
			name = d.name + "-wc-" + uid
		}
		if b.devices[name] != nil || b.byUID[uid] != nil {
			b.log.Warn().Str("din", din).Str("device", name).Msg("wall connector name taken; not bridged")
			continue
		}
		view := &wcView{site: d.site, din: din}
		wc := &device{kind: kindWallConnector, name: name, uid: uid, available: true, parent: d,
			updatedAt: d.updatedAt, lastDiscovery: map[string][]byte{}}
		wc.entities = b.filter(bind(wallConnectorEntities, func() *wcView { return view }))
		label := d.hassDevice.Name
		if label == "" {
			label = d.name
		}
		wc.hassDevice = hass.Device{
			Identifiers:  []string{"tesla2mqtt_" + uid},
			Name:         label + " Wall Connector " + n,
			Manufacturer: "Tesla",
			Model:        wallConnectorModel(d.site, din),
			SerialNumber: din,
			ViaDevice:    "tesla2mqtt_" + d.uid,
		}
		d.site.wallConnectors[din] = wc
		b.devices[name] = wc
		b.byUID[uid] = wc
		added = append(added, wc)
	}
	return added, existing
}

// publishWallConnectors publishes new connectors whole and the others'
// state; called after the site itself was published, so HA knows the
// via_device before the connectors refer to it.
func (b *Bridge) publishWallConnectors(d *device) {
	b.mu.Lock()
	added, existing := b.syncWallConnectors(d)
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
