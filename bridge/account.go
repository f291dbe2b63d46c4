package bridge

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

func (b *Bridge) account() contract.AccountStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opts.Account
}

// accountInfo renders the account for bridge/info and bridge/status; nil
// when no AccountStatus is attached.
func (b *Bridge) accountInfo() *contract.AccountInfo {
	a := b.account()
	if a == nil {
		// Without an AccountStatus the bridge still says why nothing works,
		// and then that it works again.
		b.mu.Lock()
		seen := b.problemSeen
		b.mu.Unlock()
		if !seen {
			return nil
		}
		inf := b.scopeOnlyAccount()
		inf.Problem = b.accountProblem()
		return &inf
	}
	st := a.AccountState()
	inf := &contract.AccountInfo{LoginNeeded: st.LoginRequired, LoginError: st.LoginError, Region: st.Region,
		APIBaseURL: st.APIBaseURL, GrantedScopes: append([]string{}, st.GrantedScopes...),
		MissingScopes: []contract.MissingScope{}, ConsentURL: st.ConsentURL}
	if st.LoginRequired {
		inf.LoginCommand = st.LoginCommand
	}
	if !st.TokenExpiry.IsZero() {
		inf.TokenExpiry = hass.Ptr(st.TokenExpiry.UTC().Format(time.RFC3339))
	}
	if !st.LoginRequired || len(st.GrantedScopes) > 0 {
		for _, s := range fleet.MissingScopes(st.GrantedScopes, st.WantedScopes) {
			ms := contract.MissingScope{Scope: s}
			if si, ok := fleet.LookupScope(s); ok {
				ms.Title, ms.Disables = si.Title, si.Disables
			}
			inf.MissingScopes = append(inf.MissingScopes, ms)
		}
	}
	inf.MissingCount = len(inf.MissingScopes)
	inf.Problem = b.accountProblem()
	return inf
}

// publishAccount publishes the retained <base>/bridge/status and the bridge
// device's discovery. publishInfo calls it, so it follows every reconnect.
func (b *Bridge) publishAccount(inf *contract.AccountInfo) {
	if inf == nil {
		return
	}
	if payload, err := json.Marshal(inf); err == nil {
		b.publish(b.bridgeTopic("status"), payload, true)
	}
	b.publishBridgeDiscovery()
}

// scopeOnlyAccount describes the account from the granted scopes when no
// AccountStatus is attached (tests, older wiring): missing scopes are those
// of the default set.
func (b *Bridge) scopeOnlyAccount() contract.AccountInfo {
	inf := contract.AccountInfo{GrantedScopes: []string{}, MissingScopes: []contract.MissingScope{}}
	if b.opts.GrantedScopes == nil {
		return inf
	}
	inf.GrantedScopes = append(inf.GrantedScopes, b.opts.GrantedScopes()...)
	for _, s := range fleet.MissingScopes(inf.GrantedScopes, fleet.DefaultScopes()) {
		ms := contract.MissingScope{Scope: s}
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
