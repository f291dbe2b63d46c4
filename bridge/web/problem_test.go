package web

import (
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// An account dead end fails /healthz as "account" with its remedy, and the
// status page shows it and the login command a revoked login needs.
func TestAccountProblemFailsHealthAndShowsOnPage(t *testing.T) {
	ts := newTestServer(t, nil)
	st := sampleStatus()
	st.Devices[2].LastError = ""
	st.Account.Problem = &contract.AccountProblem{Code: "region_not_registered", Message: "products: HTTP 412",
		Remedy: "register the app in the account's region: run 'tesla2mqtt register'", NextRetry: "2026-11-29T12:00:30Z"}
	st.Account.LoginNeeded, st.Account.LoginCommand = true, "tesla2mqtt login -c /etc/t2m.toml"
	ts.src.set(st)
	code, body := get(t, nil, ts.URL+"/healthz")
	if code != 503 || !strings.Contains(body, `"account"`) || !strings.Contains(body, "run 'tesla2mqtt register'") ||
		!strings.Contains(body, "tesla2mqtt login -c /etc/t2m.toml") {
		t.Fatalf("healthz with a dead end: %d %s", code, body)
	}
	_, page := get(t, nil, ts.URL+"/")
	for _, want := range []string{`id="account-problem"`, "region_not_registered", "tesla2mqtt login -c /etc/t2m.toml"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}
