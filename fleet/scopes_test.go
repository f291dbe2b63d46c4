package fleet

import (
	"net/url"
	"reflect"
	"testing"
)

func TestAuthMissingScopes(t *testing.T) {
	granted := []string{"openid", "offline_access", "vehicle_device_data"}
	wanted := []string{"vehicle_location", "openid", "energy_cmds", "vehicle_location"}
	if got, want := MissingScopes(granted, wanted), []string{"vehicle_location", "energy_cmds"}; !reflect.DeepEqual(got, want) {
		t.Errorf("MissingScopes = %q, want %q", got, want)
	}
	if got := MissingScopes(granted, []string{"openid"}); got != nil {
		t.Errorf("nothing missing: got %q", got)
	}
	if got := MissingScopes(nil, []string{"user_data"}); !reflect.DeepEqual(got, []string{"user_data"}) {
		t.Errorf("no grants: got %q", got)
	}
}

func TestAuthScopeCatalogue(t *testing.T) {
	all := []string{ScopeOpenID, ScopeOfflineAccess, ScopeUserData, ScopeVehicleDeviceData, ScopeVehicleLocation,
		ScopeVehicleCmds, ScopeVehicleChargingCmds, ScopeEnergyDeviceData, ScopeEnergyCmds}
	if got := DefaultScopes(); !reflect.DeepEqual(got, all) {
		t.Errorf("DefaultScopes = %q, want %q", got, all)
	}
	cat := ScopeCatalogue()
	for _, s := range cat {
		if s.Title == "" || s.Disables == "" {
			t.Errorf("%s: empty title or disables", s.Name)
		}
	}
	cat[0].Title = "changed"
	if ScopeCatalogue()[0].Title == "changed" {
		t.Error("ScopeCatalogue returns the shared slice")
	}
	for name, want := range map[string]string{
		ScopeVehicleLocation: "no car location (device tracker, route)",
		ScopeEnergyCmds:      "Powerwall controls are read-only",
		ScopeOfflineAccess:   "no refresh token: the bridge stops working after 8 hours",
	} {
		if s, ok := LookupScope(name); !ok || s.Disables != want {
			t.Errorf("LookupScope(%s) = %+v, %v", name, s, ok)
		}
	}
	if _, ok := LookupScope("email"); ok {
		t.Error("unknown scope found")
	}
}

func TestAuthConsentURL(t *testing.T) {
	if got := ConsentURL("", "x"); got != ConsentPageURL {
		t.Errorf("no client id: %q", got)
	}
	u, err := url.Parse(ConsentURL("client 1", "https://ha.local/back"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "auth.tesla.com" || u.Path != "/user/revoke/consent" || q.Get("revoke_client_id") != "client 1" || q.Get("back_url") != "https://ha.local/back" {
		t.Errorf("ConsentURL = %s", u)
	}
	if u, _ := url.Parse(ConsentURL("c", "")); u.Query().Has("back_url") {
		t.Errorf("empty back URL sent: %s", u)
	}
}
