package entity

import (
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// wallConnectorEntities is the Wall Connector table. wall_connector_state
// and fault_state are Tesla's numeric codes, published as they are: their
// meanings are not documented (FLEET_API §5).
var wallConnectorEntities = []Entity[*WallConnectorView]{
	{Meta: Meta{Key: "power", Platform: hass.Sensor, Name: "Power", DeviceClass: hass.DCPower,
		StateClass: hass.Measurement, Unit: "W", Precision: Ptr(0), Source: SourceLiveStatus},
		Value: func(w *WallConnectorView) any { return w.data().Power }},
	// Not "state": the state object's own "state" key is the device's.
	{Meta: Meta{Key: "wall_connector_state", Platform: hass.Sensor, Name: "State", Icon: "mdi:ev-station",
		Source: SourceLiveStatus},
		Value: func(w *WallConnectorView) any { return w.data().State }},
	{Meta: Meta{Key: "fault_state", Platform: hass.Sensor, Name: "Fault state", Icon: "mdi:alert-circle-outline",
		Category: hass.CategoryDiagnostic, Source: SourceLiveStatus},
		Value: func(w *WallConnectorView) any { return w.data().FaultState }},
	{Meta: Meta{Key: "vin", Platform: hass.Sensor, Name: "Vehicle", Icon: "mdi:car-electric", Source: SourceLiveStatus},
		Value: func(w *WallConnectorView) any { return w.data().VIN }},
}

// WallConnectorDINs lists the DINs the site reports, live_status first.
func WallConnectorDINs(s *SiteView) []string {
	seen := map[string]bool{}
	var out []string
	add := func(din string) {
		if din != "" && Sanitize(din) != "" && !seen[din] {
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

// WallConnectorModel is the part name site_info gives the connector.
func WallConnectorModel(s *SiteView, din string) string {
	for _, wc := range siteComponents(s).WallConnectors {
		if wc.DIN == din && wc.PartName != "" {
			return wc.PartName
		}
	}
	return "Wall Connector"
}

// data is the connector's entry of the last live_status (empty if absent).
func (w *WallConnectorView) data() *fleet.WallConnector {
	ls := live(w.Site)
	for i := range ls.WallConnectors {
		if ls.WallConnectors[i].DIN == w.DIN {
			return &ls.WallConnectors[i]
		}
	}
	return &fleet.WallConnector{}
}
