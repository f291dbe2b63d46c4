package contract

import (
	"sort"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"
)

// The payloads built from what they show: the account, its dead end and
// the Fleet API spend.

// AccountFrom renders an account's state for bridge/info and
// bridge/status; Problem is left for the caller.
func AccountFrom(st AccountState) *AccountInfo {
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

// ScopeOnlyAccount describes the account from the granted scopes when no
// AccountStatus is attached (tests, older wiring): missing scopes are those
// of the default set. granted may be nil (no scopes known); clientID
// gives the consent link.
func ScopeOnlyAccount(granted func() []string, clientID string) AccountInfo {
	inf := AccountInfo{GrantedScopes: []string{}, MissingScopes: []MissingScope{}}
	if granted == nil {
		return inf
	}
	inf.GrantedScopes = append(inf.GrantedScopes, granted()...)
	for _, s := range fleet.MissingScopes(inf.GrantedScopes, fleet.DefaultScopes()) {
		ms := MissingScope{Scope: s}
		if si, ok := fleet.LookupScope(s); ok {
			ms.Title, ms.Disables = si.Title, si.Disables
		}
		inf.MissingScopes = append(inf.MissingScopes, ms)
	}
	inf.MissingCount = len(inf.MissingScopes)
	if inf.MissingCount > 0 && clientID != "" {
		inf.ConsentURL = fleet.ConsentURL(clientID, "")
	}
	return inf
}

// ProblemOf renders an account's dead end for bridge/status (nil: none).
func ProblemOf(p *economy.Problem) *AccountProblem {
	if p == nil {
		return nil
	}
	return &AccountProblem{Code: p.Code, Message: p.Message, Remedy: p.Remedy, URL: p.URL, Failures: p.Failures,
		Since: p.Since.UTC().Format(time.RFC3339), NextRetry: p.RetryAt.UTC().Format(time.RFC3339)}
}

// SpendOf estimates the Fleet API cost: from the budget's status when a
// budget is configured (bs not nil), else from the meter's billable
// counts at Tesla's default prices (m nil: nothing spent).
func SpendOf(bs *economy.BudgetStatus, m *fleet.Meter) Spend {
	s := Spend{Billable: map[string]int{}}
	if bs != nil {
		for c, n := range bs.Billable {
			if c != string(fleet.CategoryFree) {
				s.Billable[c] = n
			}
		}
		s.EstimatedUSD, s.BudgetUSD, s.ProjectedUSD = bs.SpendUSD, bs.BudgetUSD, bs.ProjectedUSD
		s.Month, s.Stretch = bs.Month, bs.Stretch
		return s
	}
	if m == nil {
		return s
	}
	cats := make([]fleet.Category, 0)
	bill := m.Billable()
	for c := range bill {
		// Calls Tesla does not bill are not spend.
		if c != fleet.CategoryFree {
			cats = append(cats, c)
		}
	}
	sort.Slice(cats, func(i, j int) bool { return cats[i] < cats[j] })
	for _, c := range cats {
		s.Billable[string(c)] = bill[c]
		s.EstimatedUSD += float64(bill[c]) * fleet.DefaultPrices().Category(c)
	}
	return s
}
