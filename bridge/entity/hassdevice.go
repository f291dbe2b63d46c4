package entity

import (
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The Home Assistant device blocks of each kind, built from what is known
// of the device.

// modelName turns car_type into the model HA shows.
func modelName(carType string) string {
	switch strings.ToLower(carType) {
	case "model3":
		return "Model 3"
	case "modely":
		return "Model Y"
	case "models", "models2":
		return "Model S"
	case "modelx":
		return "Model X"
	case "cybertruck":
		return "Cybertruck"
	case "":
		return "Tesla"
	}
	return carType
}

// modelFromVIN reads the model from the fourth character of a Tesla VIN, so
// a car that has been asleep since start still shows its model.
func modelFromVIN(vin string) string {
	if len(vin) == 17 {
		switch vin[3] {
		case '3':
			return "Model 3"
		case 'Y':
			return "Model Y"
		case 'S':
			return "Model S"
		case 'X':
			return "Model X"
		case 'C':
			return "Cybertruck"
		}
	}
	return "Tesla"
}

// VehicleDevice is the HA device block of a car; name is its topic
// segment, shown until Tesla tells the car's display name.
func VehicleDevice(v *VehicleView, name string) hass.Device {
	label := v.DisplayName
	if label == "" {
		label = name
	}
	hd := hass.Device{
		Identifiers:  []string{"tesla2mqtt_" + v.VIN},
		Name:         label,
		Manufacturer: "Tesla",
		Model:        modelName(""),
		SerialNumber: v.VIN,
	}
	if c := v.Data.Config; c != nil && c.CarType != nil {
		hd.Model = modelName(*c.CarType)
	} else {
		hd.Model = modelFromVIN(v.VIN)
	}
	if s := v.Data.Vehicle; s != nil && s.CarVersion != nil {
		hd.SWVersion = strings.Fields(*s.CarVersion + " ")[0]
	}
	return hd
}

// SiteDevice is the HA device block of an energy site from its products
// entry; name and uid are its topic segment and id.
func SiteDevice(p fleet.Product, name, uid string) hass.Device {
	label := p.SiteName
	if label == "" {
		label = name
	}
	model := "Energy site"
	if c := p.Components; c != nil {
		switch {
		case c.Battery != nil && *c.Battery:
			model = "Powerwall"
		case c.Solar != nil && *c.Solar:
			model = "Solar"
		}
	}
	return hass.Device{
		Identifiers:  []string{"tesla2mqtt_" + uid},
		Name:         label,
		Manufacturer: "Tesla",
		Model:        model,
		SerialNumber: uid,
	}
}

// WallConnectorDevice is the HA device block of the n-th Wall Connector of
// a site, linked to the site's device by via_device.
func WallConnectorDevice(site hass.Device, siteName, n string, w *WallConnectorView, uid string) hass.Device {
	label := site.Name
	if label == "" {
		label = siteName
	}
	return hass.Device{
		Identifiers:  []string{"tesla2mqtt_" + uid},
		Name:         label + " Wall Connector " + n,
		Manufacturer: "Tesla",
		Model:        WallConnectorModel(w.Site, w.DIN),
		SerialNumber: w.DIN,
		ViaDevice:    site.Identifiers[0],
	}
}
