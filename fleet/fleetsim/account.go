package fleetsim

import (
	"net/http"
	"strings"
)

// The account-level dead ends a user's Fleet API calls can hit, to play
// them in tests and in the demo (fleetsim --unregistered, --wrong-region,
// --revoke-after): an app not registered in the region (412 until
// partner_accounts registers a domain), an account that lives in another
// region for good (421 on every call), a revoked login (RevokeTokens).

// accountState is the Sim's account faults, guarded by Sim.mu.
type accountState struct {
	// unregistered: user calls answer 412 until a domain is registered.
	unregistered bool
	// wrongRegion, when set, is the base URL every user call's 421 names.
	wrongRegion string
}

// RequireRegistration makes every user call answer 412 "must be registered
// in the current region" until `tesla2mqtt register` (POST
// /api/1/partner_accounts) registers a domain; false lifts it at once.
func (s *Sim) RequireRegistration(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account.unregistered = on
	if on {
		clear(s.auth().domains)
	}
}

// SetWrongRegion makes every user call answer 421 "user out of region, use
// base URL: baseURL", for good: a region the bridge cannot follow to. ""
// ends it.
func (s *Sim) SetWrongRegion(baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account.wrongRegion = strings.TrimRight(baseURL, "/")
}

// accountRefusal answers a user's authenticated call with the account's
// dead end, if any; partner calls (register) pass, and so does a lineage's
// access token only while its login lives. Callers hold s.mu.
func (s *Sim) accountRefusal(req *request) (response, bool) {
	c := req.Token
	if c == nil || c.Sub == partnerSubject {
		return response{}, false
	}
	a := s.auth()
	if l := a.byJTI[c.Jti]; l != nil && l.dead {
		return apiError(http.StatusUnauthorized, errInvalidToken).
			with("WWW-Authenticate", `Bearer error="invalid_token"`), true
	}
	switch {
	case s.account.wrongRegion != "":
		return apiError(http.StatusMisdirectedRequest, "user out of region, use base URL: "+s.account.wrongRegion).
			with("Alt-Svc", "h2="+s.account.wrongRegion), true
	case s.account.unregistered && len(a.domains) == 0:
		return faultResponse(http.StatusPreconditionFailed, req), true
	}
	return response{}, false
}
