package fleetsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestMintTokenClaims(t *testing.T) {
	e := newEnv(t)
	tok := e.sim.MintToken([]string{"vehicle_device_data", "energy_device_data"}, time.Hour)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("token %q is not h.p.", tok)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(hdr) != `{"alg":"none","typ":"JWT"}` {
		t.Errorf("header = %s", hdr)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c["iss"] != DefaultIssuer || c["sub"] != UserID || c["azp"] != "fleetsim-client" || c["ou_code"] != "NA" ||
		c["jti"] == "" || c["exp"].(float64)-c["iat"].(float64) != 3600 || c["iat"].(float64) != float64(t0.Unix()) {
		t.Errorf("claims = %v", c)
	}
	aud := c["aud"].([]any)
	if len(aud) != 4 || aud[0] != fleet.BaseURLNA || aud[1] != fleet.BaseURLEU || aud[2] != fleet.BaseURLCN || aud[3] != DefaultIssuer {
		t.Errorf("aud = %v", aud)
	}
	if scp := c["scp"].([]any); len(scp) != 2 || scp[0] != "vehicle_device_data" {
		t.Errorf("scp = %v", scp)
	}
	if e.sim.MintToken(nil, 0) == e.sim.MintToken(nil, 0) {
		t.Error("jti is not random")
	}
	// The bridge's own parser understands it.
	claims, err := fleet.ParseClaims(tok)
	if err != nil || !claims.HasScope("energy_device_data") || claims.Region() == "" {
		t.Fatalf("fleet.ParseClaims = %+v, %v", claims, err)
	}
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t)
	const path = "/api/1/vehicles"
	e.call("GET", path, "", "").wantError(t, http.StatusUnauthorized, "invalid bearer token")
	for _, tok := range []string{"garbage", "a.b.c", "..", "x." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":1}`)) + "."} {
		e.call("GET", path, tok, "").wantError(t, http.StatusUnauthorized, "invalid bearer token")
	}
	other := New(Options{Clock: e.clock, Issuer: "https://elsewhere"})
	e.call("GET", path, other.MintToken(allScopes, 0), "").wantError(t, http.StatusUnauthorized, "invalid bearer token")

	tok := e.sim.MintToken(allScopes, time.Hour)
	e.call("GET", path, tok, "").want(t, http.StatusOK)
	e.clock.Advance(time.Hour)
	r := e.call("GET", path, tok, "")
	r.wantError(t, http.StatusUnauthorized, "token expired (401)")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate on 401")
	}
	// Faults and auth failures are counted like Tesla bills them.
	if n := e.sim.Counts()["vehicles"]; n != 8 {
		t.Errorf("vehicles count = %d, want 8", n)
	}
}

func TestScopes(t *testing.T) {
	e := newEnv(t)
	energy := e.sim.MintToken([]string{fleet.ScopeEnergyDeviceData}, 0)
	data := e.sim.MintToken([]string{fleet.ScopeVehicleDeviceData}, 0)
	none := e.sim.MintToken(nil, 0)
	red := "/api/1/vehicles/" + vinRed
	cases := []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/api/1/products", energy, 200},
		{"GET", "/api/1/products", data, 200},
		{"GET", "/api/1/products", none, 403},
		{"GET", "/api/1/vehicles", energy, 403},
		{"GET", red, energy, 403},
		{"GET", red + "/vehicle_data", energy, 403},
		{"GET", red + "/vehicle_data", data, 200},
		{"POST", red + "/wake_up", data, 403},
		{"POST", red + "/wake_up", e.sim.MintToken([]string{fleet.ScopeVehicleCmds}, 0), 200},
		{"POST", red + "/command/door_lock", data, 403},
		{"GET", "/api/1/energy_sites/" + siteID + "/live_status", data, 403},
		{"GET", "/api/1/energy_sites/" + siteID + "/live_status", energy, 200},
		{"GET", "/api/1/energy_sites/" + siteID + "/site_info", energy, 200},
		{"POST", "/api/1/energy_sites/" + siteID + "/backup", energy, 403},
		{"GET", "/api/1/users/region", none, 200},
		{"GET", "/status", "", 200},
	}
	for _, c := range cases {
		r := e.call(c.method, c.path, c.token, "")
		if c.status == 403 {
			r.wantError(t, 403, "Unauthorized missing scopes")
		} else if r.status != c.status {
			t.Errorf("%s %s → %d, want %d (%s)", c.method, c.path, r.status, c.status, r.raw)
		}
	}
}

func TestRegion(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/1/users/region", e.sim.MintToken(nil, time.Minute), "")
	var region fleet.Region
	r.decode(t, &region)
	if region.Region != "na" || region.FleetAPIBaseURL != e.srv.URL {
		t.Fatalf("region = %+v, want na %s", region, e.srv.URL)
	}
	eu := New(Options{Clock: e.clock, Region: "EU"})
	claims, err := fleet.ParseClaims(eu.MintToken(nil, 0))
	if err != nil || claims.OUCode != "EU" {
		t.Fatalf("EU token: %+v %v", claims, err)
	}
	if r := e.call("GET", "/status", "", ""); string(r.raw) != "ok" {
		t.Errorf("/status = %q", r.raw)
	}
}
