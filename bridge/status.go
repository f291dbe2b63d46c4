package bridge

import (
	"sort"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Status is a read-only snapshot of the bridge, taken for the status page
// and /healthz. It copies everything it shows, so a renderer never holds
// the bridge's lock.
type Status struct {
	Version string
	At      time.Time
	// Discovered is false until the account's products were read once.
	Discovered bool
	// Account is the Tesla login: region, granted and missing scopes,
	// consent link. Never nil.
	Account AccountInfo
	// AccountKnown is false when the bridge has no AccountStatus and the
	// account was derived from the granted scopes alone.
	AccountKnown bool
	// PairingURL is https://tesla.com/_ak/<domain> ("" without a domain).
	PairingURL string
	Devices    []DeviceStatus
	Spend      Spend
}

// DeviceStatus is one car or energy site as the status page shows it.
type DeviceStatus struct {
	// Name is the topic segment; Label what Tesla calls the device.
	Name, Label, Kind, ID, Model string
	// FleetState is online, asleep or offline for cars ("" for sites).
	FleetState string
	// KeyPaired is nil when the pairing is not known (yet).
	KeyPaired *bool
	// CommandSigning is required, allowed or off as far as known.
	CommandSigning  string
	SigningRequired bool
	// PairingURL is the car's own pairing link (with ?vin=).
	PairingURL string
	LastResult *command.Result
	// LastError is the last Fleet error of a read ("" after a success).
	LastError string
	// LastPoll is the time of the last successful read (zero: none yet).
	LastPoll time.Time
	// Readings are a few headline values (battery level, charge limit…).
	Readings []Reading
}

// Reading is one headline value with its display name and unit.
type Reading struct {
	Key, Name, Unit string
	Value           any
}

// Spend is what the Fleet API calls so far cost, estimated from Tesla's
// published prices. BudgetUSD is zero until a budget is configured.
type Spend struct {
	// Billable counts billable responses by billing category.
	Billable     map[string]int
	EstimatedUSD float64
	BudgetUSD    float64
	// Month, ProjectedUSD and Stretch come from the budget when one is
	// configured: this month's spend (EstimatedUSD then), the month-end
	// projection and how much polling is stretched to stay inside it.
	Month        string
	ProjectedUSD float64
	Stretch      int
}

// statusHeadline lists the keys the status page shows per device, when the
// device's table has them; missing keys are simply not shown, so a table
// rewrite cannot break the page.
var statusHeadline = []string{
	"battery_level", "charging_state", "charge_limit_soc", "charger_power", "battery_range",
	"percentage_charged", "solar_power", "battery_power", "grid_power", "load_power", "grid_status",
}

// Status returns a snapshot of the bridge.
func (b *Bridge) Status() Status {
	st := Status{Version: b.opts.Version, At: b.now(), Devices: []DeviceStatus{}}
	if b.opts.Domain != "" {
		st.PairingURL = fleet.PairingURL(b.opts.Domain, "")
	}
	if inf := b.accountInfo(); inf != nil {
		st.Account, st.AccountKnown = *inf, true
	} else {
		st.Account = b.scopeOnlyAccount()
	}
	for _, d := range b.sortedDevices() {
		b.mu.Lock()
		st.Devices = append(st.Devices, b.deviceStatus(d))
		b.mu.Unlock()
	}
	b.mu.Lock()
	st.Discovered = b.discovered
	b.mu.Unlock()
	st.Spend = b.spend()
	return st
}

// scopeOnlyAccount describes the account from the granted scopes when no
// AccountStatus is attached (tests, older wiring): missing scopes are those
// of the default set.
func (b *Bridge) scopeOnlyAccount() AccountInfo {
	inf := AccountInfo{GrantedScopes: []string{}, MissingScopes: []MissingScope{}}
	if b.opts.GrantedScopes == nil {
		return inf
	}
	inf.GrantedScopes = append(inf.GrantedScopes, b.opts.GrantedScopes()...)
	for _, s := range fleet.MissingScopes(inf.GrantedScopes, fleet.DefaultScopes()) {
		ms := MissingScope{Scope: s}
		if si, ok := fleet.LookupScope(s); ok {
			ms.Title, ms.Disables = si.Title, si.Disables
		}
		inf.MissingScopes = append(inf.MissingScopes, ms)
	}
	inf.MissingCount = len(inf.MissingScopes)
	if inf.MissingCount > 0 && b.opts.ClientID != "" {
		inf.ConsentURL = fleet.ConsentURL(b.opts.ClientID, "")
	}
	return inf
}

// deviceStatus copies one device. Callers hold b.mu.
func (b *Bridge) deviceStatus(d *device) DeviceStatus {
	ds := DeviceStatus{Name: d.name, Label: d.hassDevice.Name, Kind: d.k.kindName(), ID: d.uid,
		Model: d.hassDevice.Model, LastError: d.lastError, LastPoll: d.updatedAt}
	if d.lastResult != nil {
		r := *d.lastResult
		ds.LastResult = &r
	}
	d.k.describe(nil, &ds)
	view := d.k.view()
	for _, k := range statusHeadline {
		e := d.entity(k)
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
		ds.Readings = append(ds.Readings, Reading{Key: k, Name: e.Name, Unit: e.UnitIn(b.opts.Units), Value: v})
	}
	return ds
}

// spend estimates the Fleet API cost from the meter's billable counts.
func (b *Bridge) spend() Spend {
	s := Spend{Billable: map[string]int{}}
	if bs := b.opts.Budget.Status(); bs != nil {
		for c, n := range bs.Billable {
			if c != string(fleet.CategoryFree) {
				s.Billable[c] = n
			}
		}
		s.EstimatedUSD, s.BudgetUSD, s.ProjectedUSD = bs.SpendUSD, bs.BudgetUSD, bs.ProjectedUSD
		s.Month, s.Stretch = bs.Month, bs.Stretch
		return s
	}
	if b.opts.Meter == nil {
		return s
	}
	cats := make([]fleet.Category, 0)
	bill := b.opts.Meter.Billable()
	for c := range bill {
		// Calls Tesla does not bill are not spend.
		if c != fleet.CategoryFree {
			cats = append(cats, c)
		}
	}
	sort.Slice(cats, func(i, j int) bool { return cats[i] < cats[j] })
	for _, c := range cats {
		s.Billable[string(c)] = bill[c]
		s.EstimatedUSD += float64(bill[c]) * economy.DefaultPrices().Category(c)
	}
	return s
}
