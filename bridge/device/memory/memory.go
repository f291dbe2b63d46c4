package memory

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// What a device knew survives a restart. A car that sleeps is never read
// (reading it would wake it or cost a 408), so without its last values a
// restart would publish it as unknown until it wakes, maybe for days. The
// host keeps the memories in its state directory; a new device recalls
// its own before its first publish.

// Memory is one device's last known state as the host stores it.
type Memory struct {
	// Kind is the device's kind; a memory of another kind is ignored.
	Kind string `json:"kind"`
	// UpdatedAt is the device's last successful read.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Data is the kind's own state (the car's vehicle_data blocks, each
	// with Tesla's own timestamp, and when it was last read).
	Data json.RawMessage `json:"data"`
}

// carMemory is what a car keeps: its blocks and pairing. Its Fleet state
// is not kept: the product list says what it is now.
type carMemory struct {
	DisplayName    string            `json:"display_name,omitempty"`
	CommandSigning string            `json:"command_signing,omitempty"`
	KeyPaired      *bool             `json:"key_paired,omitempty"`
	LastSeen       time.Time         `json:"last_seen,omitzero"`
	Data           fleet.VehicleData `json:"vehicle_data"`
}

// Car encodes what a car keeps, so its blocks and pairing are known again
// after a restart.
func Car(v *entity.VehicleView) (json.RawMessage, error) {
	return json.Marshal(carMemory{DisplayName: v.DisplayName, CommandSigning: v.CommandSigning, KeyPaired: v.KeyPaired,
		LastSeen: v.LastSeen, Data: v.Data})
}

// RecallCar takes a car's memory back into v before its first publish;
// what the product list already said (signing, pairing) wins.
func RecallCar(v *entity.VehicleView, raw json.RawMessage) error {
	var m carMemory
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	v.Merge(&m.Data)
	if v.CommandSigning == "" {
		v.CommandSigning = m.CommandSigning
	}
	if v.KeyPaired == nil {
		v.KeyPaired = m.KeyPaired
	}
	v.LastSeen = m.LastSeen
	return nil
}

// siteMemory is what a site keeps: its last live_status and site_info.
type siteMemory struct {
	Live *fleet.LiveStatus `json:"live_status,omitempty"`
	Info *fleet.SiteInfo   `json:"site_info,omitempty"`
}

// Site encodes what a site keeps, so its powers and settings are known
// again after a restart.
func Site(v *entity.SiteView) (json.RawMessage, error) {
	return json.Marshal(siteMemory{Live: v.Live, Info: v.Info})
}

// RecallSite takes a site's memory back into v before its first publish;
// a read made already wins.
func RecallSite(v *entity.SiteView, raw json.RawMessage) error {
	var m siteMemory
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	if v.Live == nil {
		v.Live = m.Live
	}
	if v.Info == nil {
		v.Info = m.Info
	}
	return nil
}
