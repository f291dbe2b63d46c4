package bridge

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
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

// refilterEntities rebinds every device's rows through filter with the
// current scopes, the way they are bound when a device appears.
func (b *Bridge) refilterEntities() {
	for _, d := range b.sortedDevices() {
		b.mu.Lock()
		changed := d.bindRows()
		b.mu.Unlock()
		if changed {
			b.publishDiscovery(d)
			b.publishState(d, true)
		}
	}
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
	for _, c := range b.bridgeDevice().AccountComponents() {
		topic, err := hass.ConfigTopic(b.opts.DiscoveryPrefix, c.Platform, c.UniqueID)
		if err != nil {
			continue
		}
		if payload, err := json.Marshal(c); err == nil {
			b.publish(topic, payload, true)
		}
	}
}

// bridgeDevice describes the "tesla2mqtt bridge" HA device.
func (b *Bridge) bridgeDevice() entity.BridgeDevice {
	return entity.BridgeDevice{Base: b.opts.BaseTopic, Version: b.opts.Version, Origin: &b.origin}
}
