package bridge

import (
	"encoding/json"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
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
	inf := contract.AccountFrom(a.AccountState())
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
// AccountStatus is attached (contract.ScopeOnlyAccount).
func (b *Bridge) scopeOnlyAccount() contract.AccountInfo {
	return contract.ScopeOnlyAccount(b.opts.GrantedScopes, b.opts.ClientID)
}
