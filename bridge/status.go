package bridge

import (
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// statusHeadline lists the keys the status page shows per device, when the
// device's table has them; missing keys are simply not shown, so a table
// rewrite cannot break the page.
var statusHeadline = []string{
	"battery_level", "charging_state", "charge_limit_soc", "charger_power", "battery_range",
	"percentage_charged", "solar_power", "battery_power", "grid_power", "load_power", "grid_status",
}

// Status returns a snapshot of the bridge.
func (b *Bridge) Status() contract.Status {
	st := contract.Status{Version: b.opts.Version, At: b.now(), Devices: []contract.DeviceStatus{}}
	if b.opts.Domain != "" {
		st.PairingURL = fleet.PairingURL(b.opts.Domain, "")
	}
	if inf := b.accountInfo(); inf != nil {
		st.Account, st.AccountKnown = *inf, true
	} else {
		st.Account = b.scopeOnlyAccount()
	}
	for _, d := range b.reg.Devices() {
		b.mu.Lock()
		st.Devices = append(st.Devices, b.deviceStatus(d))
		b.mu.Unlock()
	}
	b.mu.Lock()
	st.Discovered = b.reg.Discovered()
	b.mu.Unlock()
	st.Spend = b.spend()
	return st
}

// deviceStatus copies one device. Callers hold b.mu.
func (b *Bridge) deviceStatus(d *device.Device) contract.DeviceStatus {
	hd, f := d.HassDevice(), d.Facts()
	ds := contract.DeviceStatus{Name: d.Name(), Label: hd.Name, Kind: d.Kind(), ID: d.UID(), Model: hd.Model,
		LastError: d.LastError(), LastPoll: d.UpdatedAt(), FleetState: f.State, KeyPaired: f.KeyPaired,
		CommandSigning: f.CommandSigning, SigningRequired: f.SigningRequired, PairingURL: f.PairingURL}
	if f.StatusKind != "" {
		ds.Kind = f.StatusKind
	}
	if r := b.memo(d).lastResult; r != nil {
		c := *r
		ds.LastResult = &c
	}
	view := d.View()
	for _, k := range statusHeadline {
		e := d.Entity(k)
		if e == nil {
			continue
		}
		v := e.Value(view)
		if v == nil {
			continue
		}
		if f, isF := v.(float64); isF && e.Quantity != entity.QNone {
			v = entity.Convert(e.Quantity, b.opts.Units, f)
		}
		ds.Readings = append(ds.Readings, contract.Reading{Key: k, Name: e.Name, Unit: e.UnitIn(b.opts.Units), Value: v})
	}
	return ds
}

// spend estimates the Fleet API cost from the budget or the meter.
func (b *Bridge) spend() contract.Spend {
	return contract.SpendOf(b.opts.Budget.Status(), b.opts.Meter)
}
