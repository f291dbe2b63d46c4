package bridge

import (
	"encoding/json"
	"time"
)

// Info is the retained payload of <base>/bridge/info.
type Info struct {
	Version  string       `json:"version"`
	Devices  []DeviceInfo `json:"devices"`
	Requests *Requests    `json:"requests,omitempty"`
	// Account is the Tesla account's state: login needed, region, granted
	// and missing scopes, token expiry. Absent without Options.Account.
	Account *AccountInfo `json:"account,omitempty"`
	At      string       `json:"at"`
}

// DeviceInfo describes one bridged device in bridge/info.
type DeviceInfo struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Model string `json:"model"`
	Label string `json:"label"`
	State string `json:"state,omitempty"`
	Error string `json:"last_error,omitempty"`
}

// Requests counts Fleet API responses since start.
type Requests struct {
	// Billable counts billable responses by billing category.
	Billable map[string]int `json:"billable"`
	// ByEndpoint counts all responses by endpoint.
	ByEndpoint map[string]int `json:"by_endpoint"`
}

// info builds the bridge/info payload.
func (b *Bridge) info() Info {
	inf := Info{Version: b.opts.Version, At: b.opts.Now().UTC().Format(time.RFC3339), Devices: []DeviceInfo{}}
	for _, d := range b.sortedDevices() {
		b.mu.Lock()
		di := DeviceInfo{Name: d.name, ID: d.uid, Model: d.hassDevice.Model, Label: d.hassDevice.Name, Error: d.lastError}
		switch d.kind {
		case kindVehicle:
			di.Kind = "vehicle"
			di.State = d.vehicle.State
		case kindWallConnector:
			di.Kind = "wall_connector"
		default:
			di.Kind = "energy_site"
		}
		b.mu.Unlock()
		inf.Devices = append(inf.Devices, di)
	}
	inf.Account = b.accountInfo()
	if m := b.opts.Meter; m != nil {
		r := &Requests{Billable: map[string]int{}, ByEndpoint: m.Total()}
		for c, n := range m.Billable() {
			r.Billable[string(c)] = n
		}
		inf.Requests = r
	}
	return inf
}

// publishInfo publishes the retained bridge/info, and the account's
// bridge/status and bridge device when an account is attached.
func (b *Bridge) publishInfo() {
	inf := b.info()
	payload, err := json.Marshal(inf)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode bridge info")
		return
	}
	b.publish(b.opts.BaseTopic+"/bridge/info", payload, true)
	b.publishAccount(inf.Account)
}
