package bridge

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// AccountStatus tells the bridge about the Tesla account behind it: the
// token's scopes, region and expiry, and whether a new login is needed.
// cmd implements it on top of fleet.TokenSource.
type AccountStatus interface {
	AccountState() AccountState
}

// AccountState is one snapshot of the account.
type AccountState struct {
	// Region is "na", "eu" or "cn" ("" before a login).
	Region string
	// APIBaseURL is the Fleet API host in use.
	APIBaseURL string
	// GrantedScopes are the scopes of the current access token (scp).
	GrantedScopes []string
	// WantedScopes are the scopes the config asks for.
	WantedScopes []string
	// TokenExpiry is the access token's expiry (zero before a login).
	TokenExpiry time.Time
	// LoginRequired is set when there is no token or Tesla refused the
	// refresh token; LoginError says why (never a token).
	LoginRequired bool
	LoginError    string
	// LoginCommand is what the user runs to log in again.
	LoginCommand string
	// ConsentURL is where the user changes the granted scopes.
	ConsentURL string
}

// Account event types on <base>/bridge/event.
const (
	EventLoginRequired  = "login_required"
	EventTokenRefreshed = "token_refreshed"
	EventScopesChanged  = "scopes_changed"
)

// AccountEvent is one message on <base>/bridge/event (not retained).
type AccountEvent struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
	// Source of a token_refreshed: "refresh" or "login".
	Source       string   `json:"source,omitempty"`
	Expiry       string   `json:"token_expiry,omitempty"`
	Added        []string `json:"added,omitempty"`
	Removed      []string `json:"removed,omitempty"`
	Missing      []string `json:"missing_scopes,omitempty"`
	LoginCommand string   `json:"login_command,omitempty"`
	ConsentURL   string   `json:"consent_url,omitempty"`
	At           string   `json:"at"`
}

// MissingScope is a scope the config wants and the token lacks, with what
// its absence disables.
type MissingScope struct {
	Scope    string `json:"scope"`
	Title    string `json:"title,omitempty"`
	Disables string `json:"disables,omitempty"`
}

// AccountInfo is the "account" object of bridge/info and the retained
// payload of <base>/bridge/status.
type AccountInfo struct {
	LoginNeeded   bool           `json:"login_needed"`
	LoginError    string         `json:"login_error,omitempty"`
	LoginCommand  string         `json:"login_command,omitempty"`
	Region        string         `json:"region,omitempty"`
	APIBaseURL    string         `json:"api_base_url,omitempty"`
	TokenExpiry   *string        `json:"token_expiry"`
	GrantedScopes []string       `json:"granted_scopes"`
	MissingScopes []MissingScope `json:"missing_scopes"`
	MissingCount  int            `json:"missing_scope_count"`
	ConsentURL    string         `json:"consent_url,omitempty"`
}

// SetAccount attaches the account status after New (cmd creates the token
// source's callbacks before the bridge exists) and publishes it.
func (b *Bridge) SetAccount(a AccountStatus) {
	b.mu.Lock()
	b.opts.Account = a
	b.mu.Unlock()
	b.publishInfo()
}

func (b *Bridge) account() AccountStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opts.Account
}

// accountInfo renders the account for bridge/info and bridge/status; nil
// when no AccountStatus is attached.
func (b *Bridge) accountInfo() *AccountInfo {
	a := b.account()
	if a == nil {
		return nil
	}
	st := a.AccountState()
	inf := &AccountInfo{LoginNeeded: st.LoginRequired, LoginError: st.LoginError, Region: st.Region,
		APIBaseURL: st.APIBaseURL, GrantedScopes: append([]string{}, st.GrantedScopes...),
		MissingScopes: []MissingScope{}, ConsentURL: st.ConsentURL}
	if st.LoginRequired {
		inf.LoginCommand = st.LoginCommand
	}
	if !st.TokenExpiry.IsZero() {
		inf.TokenExpiry = hass.Ptr(st.TokenExpiry.UTC().Format(time.RFC3339))
	}
	if !st.LoginRequired || len(st.GrantedScopes) > 0 {
		for _, s := range fleet.MissingScopes(st.GrantedScopes, st.WantedScopes) {
			ms := MissingScope{Scope: s}
			if si, ok := fleet.LookupScope(s); ok {
				ms.Title, ms.Disables = si.Title, si.Disables
			}
			inf.MissingScopes = append(inf.MissingScopes, ms)
		}
	}
	inf.MissingCount = len(inf.MissingScopes)
	return inf
}

// PublishAccountEvent publishes ev on <base>/bridge/event, then the new
// account status and bridge/info. A scopes_changed event also re-offers the
// entities: those needing a withdrawn scope are removed from discovery and
// those a new scope allows are added.
func (b *Bridge) PublishAccountEvent(ev AccountEvent) {
	if ev.At == "" {
		ev.At = b.now().UTC().Format(time.RFC3339)
	}
	payload, err := json.Marshal(ev)
	if err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
	if ev.Type == EventScopesChanged {
		b.refilterEntities()
	}
	b.publishInfo()
}

// refilterEntities rebinds every car's and site's table rows through filter
// with the current scopes, the way they are bound when a device appears.
// Wall connectors keep theirs: their rows need no scope beyond the site's.
func (b *Bridge) refilterEntities() {
	for _, d := range b.sortedDevices() {
		b.mu.Lock()
		var fresh []binding
		switch {
		case d.kind == kindVehicle && d.vehicle != nil:
			view := d.vehicle
			fresh = b.filter(bind(vehicleRows(), func() *VehicleView { return view }))
		case d.kind == kindSite && d.site != nil:
			fresh = b.siteBindings(d.site)
		default:
			b.mu.Unlock()
			continue
		}
		same := accountSameKeys(d.entities, fresh)
		if !same {
			d.entities = fresh
		}
		b.mu.Unlock()
		if !same {
			b.publishDiscovery(d)
			b.publishState(d, true)
		}
	}
}

func accountSameKeys(a, b []binding) bool {
	return slices.EqualFunc(a, b, func(x, y binding) bool { return x.key == y.key })
}

// publishAccount publishes the retained <base>/bridge/status and the bridge
// device's discovery. publishInfo calls it, so it follows every reconnect.
func (b *Bridge) publishAccount(inf *AccountInfo) {
	if inf == nil {
		return
	}
	if payload, err := json.Marshal(inf); err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/status", payload, true)
	}
	if !b.opts.Discovery {
		return
	}
	for _, c := range b.accountComponents() {
		topic, err := hass.ConfigTopic(b.opts.DiscoveryPrefix, c.Platform, c.UniqueID)
		if err != nil {
			continue
		}
		if payload, err := json.Marshal(c); err == nil {
			b.publish(topic, payload, true)
		}
	}
}

// accountComponents are the bridge device's entities: a problem sensor that
// turns on when Tesla needs a new login, the count of missing scopes (the
// list and what each disables as attributes), and the token's expiry.
func (b *Bridge) accountComponents() []hass.Component {
	status := b.opts.BaseTopic + "/bridge/status"
	base := b.bridgeComponent(status)
	login := base("login_required", "Login required", hass.BinarySensor)
	login.DeviceClass = hass.DCProblem
	login.ValueTemplate = "{{ 'ON' if value_json.login_needed else 'OFF' }}"
	login.PayloadOn, login.PayloadOff = "ON", "OFF"
	login.JSONAttrTopic = status
	login.JSONAttrTemplate = "{{ {'login_command': value_json.login_command, 'reason': value_json.login_error} | tojson }}"

	missing := base("missing_scopes", "Missing scopes", hass.Sensor)
	missing.Icon = "mdi:key-alert"
	missing.ValueTemplate = "{{ value_json.missing_scope_count }}"
	missing.JSONAttrTopic = status
	missing.JSONAttrTemplate = "{{ {'missing': value_json.missing_scopes, 'granted': value_json.granted_scopes, " +
		"'consent_url': value_json.consent_url} | tojson }}"

	expiry := base("token_expiry", "Token expiry", hass.Sensor)
	expiry.DeviceClass = hass.DCTimestamp
	expiry.ValueTemplate = "{{ value_json.token_expiry }}"
	return []hass.Component{login, missing, expiry}
}

// bridgeComponent returns a constructor of the bridge device's diagnostic
// entities, reading their state from topic.
func (b *Bridge) bridgeComponent(topic string) func(key, name string, p hass.Platform) hass.Component {
	dev := &hass.Device{Identifiers: []string{"tesla2mqtt_bridge"}, Name: "tesla2mqtt bridge",
		Manufacturer: "tesla2mqtt", Model: "Bridge", SWVersion: b.opts.Version}
	avail := []hass.Availability{{Topic: b.opts.BaseTopic + "/bridge/state"}}
	return func(key, name string, p hass.Platform) hass.Component {
		return hass.Component{Platform: p, Name: hass.Ptr(name), UniqueID: "tesla2mqtt_bridge_" + key,
			DefaultEntityID: string(p) + ".tesla2mqtt_bridge_" + key, ObjectID: "tesla2mqtt_bridge_" + key,
			Device: dev, Origin: &b.origin, Availability: avail, StateTopic: topic,
			EntityCategory: hass.CategoryDiagnostic}
	}
}

// budgetComponents are the bridge device's budget sensors, read from
// bridge/info: this month's spend, the month-end projection (attributes:
// budget, stretch, pause) and today's billable requests.
func (b *Bridge) budgetComponents() []hass.Component {
	info := b.opts.BaseTopic + "/bridge/info"
	base := b.bridgeComponent(info)
	spend := base("spend_month", "Spend this month", hass.Sensor)
	spend.DeviceClass, spend.Unit, spend.StateClass = hass.DCMonetary, "USD", hass.Total
	spend.DisplayPrecision = hass.Ptr(2)
	spend.ValueTemplate = "{{ value_json.budget.spend_usd }}"

	proj := base("spend_projected", "Projected spend", hass.Sensor)
	proj.DeviceClass, proj.Unit = hass.DCMonetary, "USD"
	proj.DisplayPrecision = hass.Ptr(2)
	proj.ValueTemplate = "{{ value_json.budget.projected_usd }}"
	proj.JSONAttrTopic = info
	proj.JSONAttrTemplate = "{{ {'budget_usd': value_json.budget.budget_usd, 'stretch': value_json.budget.stretch, " +
		"'paused_until': value_json.budget.paused_until} | tojson }}"

	today := base("requests_today", "Requests today", hass.Sensor)
	today.Icon = "mdi:counter"
	today.ValueTemplate = "{{ value_json.budget.requests_today }}"
	return []hass.Component{spend, proj, today}
}
