package fleet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func telemetryKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignedTelemetryConfigVerifiesWithThePublicKey(t *testing.T) {
	key := telemetryKey(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	fields, err := fleet.BuildTelemetryFields([]string{"BatteryLevel", "Location", "Locked"}, fleet.PresetBalanced, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fleet.TelemetryConfig{Hostname: "telemetry.example.com", Port: 4443, CA: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
		Exp: now.Add(365 * 24 * time.Hour).Unix(), Fields: fields, AlertTypes: []string{"service"}}
	token, err := fleet.SignTelemetryConfig(key, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The header names Tesla's Schnorr algorithm and the claims carry the
	// audience and issuer Tesla checks, beside the config itself.
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	var header, claims map[string]any
	decodeSeg(t, parts[0], &header)
	decodeSeg(t, parts[1], &claims)
	if header["alg"] != "Tesla.SS256" {
		t.Errorf("alg = %v, want Tesla.SS256", header["alg"])
	}
	if claims["aud"] != "com.tesla.fleet.TelemetryClient" {
		t.Errorf("aud = %v", claims["aud"])
	}
	pub, _ := key.PublicKey.ECDH()
	if claims["iss"] != base64.StdEncoding.EncodeToString(pub.Bytes()) {
		t.Errorf("iss = %v, want the app's public key", claims["iss"])
	}
	if claims["hostname"] != "telemetry.example.com" || claims["port"] != float64(4443) {
		t.Errorf("hostname/port claims = %v/%v", claims["hostname"], claims["port"])
	}

	got, err := fleet.VerifyTelemetryJWS(token, fleet.PublicKeyPEM(key), now)
	if err != nil {
		t.Fatalf("verify with the app's public key: %v", err)
	}
	if got.Hostname != cfg.Hostname || got.CA != cfg.CA || got.Exp != cfg.Exp || len(got.Fields) != 3 {
		t.Errorf("verified config = %+v", got)
	}
	if got.Fields["Locked"].IntervalSeconds != 5 || got.Fields["Location"].MinimumDelta == nil {
		t.Errorf("fields did not survive signing: %+v", got.Fields)
	}

	// Another key, a tampered payload and an expired config are refused.
	if _, err := fleet.VerifyTelemetryJWS(token, fleet.PublicKeyPEM(telemetryKey(t)), now); err == nil {
		t.Error("a token verified with a foreign key")
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(
		string(mustDecode(t, parts[1])), "telemetry.example.com", "evil.example.com", 1))) + "." + parts[2]
	if _, err := fleet.VerifyTelemetryJWS(tampered, fleet.PublicKeyPEM(key), now); err == nil {
		t.Error("a tampered token verified")
	}
	if _, err := fleet.VerifyTelemetryJWS(token, fleet.PublicKeyPEM(key), now.Add(400*24*time.Hour)); err == nil {
		t.Error("an expired config verified")
	}
}

func mustDecode(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeSeg(t *testing.T, seg string, out any) {
	t.Helper()
	if err := json.Unmarshal(mustDecode(t, seg), out); err != nil {
		t.Fatal(err)
	}
}

func TestTelemetryPresetsAndOverrides(t *testing.T) {
	names := []string{"VehicleSpeed", "BatteryLevel", "Odometer", "Locked", "SomethingNew"}
	eco, err := fleet.BuildTelemetryFields(names, fleet.PresetEco, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, _ := fleet.BuildTelemetryFields(names, fleet.PresetLive, nil)
	for _, n := range names {
		if eco[n].IntervalSeconds <= live[n].IntervalSeconds {
			t.Errorf("%s: eco interval %d is not longer than live %d", n, eco[n].IntervalSeconds, live[n].IntervalSeconds)
		}
	}
	if eco["Locked"].MinimumDelta != nil {
		t.Error("a bool field got a minimum_delta")
	}
	if *eco["BatteryLevel"].MinimumDelta <= *live["BatteryLevel"].MinimumDelta {
		t.Error("eco does not widen the battery delta")
	}
	// Every preset resends one unchanging field as a heartbeat, well inside
	// the 10 minutes after which the bridge takes a silent stream for dead.
	for _, p := range fleet.TelemetryPresets() {
		f, _ := fleet.BuildTelemetryFields(names, p, nil)
		if r := f["Locked"].ResendIntervalSeconds; r <= 0 || r >= 600 {
			t.Errorf("%s: Locked resend_interval_seconds = %d, want a heartbeat under 600 s", p, r)
		}
	}
	zero, five := 0.0, 5.0
	over, err := fleet.BuildTelemetryFields(names, "", map[string]fleet.TelemetryField{
		"VehicleSpeed": {IntervalSeconds: 2, MinimumDelta: &five},
		"BatteryLevel": {MinimumDelta: &zero},
		"Soc":          {IntervalSeconds: 30},
	})
	if err != nil {
		t.Fatal(err)
	}
	if over["VehicleSpeed"].IntervalSeconds != 2 || *over["VehicleSpeed"].MinimumDelta != 5 {
		t.Errorf("override not applied: %+v", over["VehicleSpeed"])
	}
	if over["BatteryLevel"].MinimumDelta != nil || over["BatteryLevel"].IntervalSeconds != 60 {
		t.Errorf("delta 0 should remove the delta and keep the balanced interval: %+v", over["BatteryLevel"])
	}
	if over["Soc"].IntervalSeconds != 30 {
		t.Error("an override could not add a field")
	}
	if _, err := fleet.BuildTelemetryFields(names, "turbo", nil); err == nil {
		t.Error("unknown preset accepted")
	}
	if _, err := fleet.BuildTelemetryFields(nil, "", map[string]fleet.TelemetryField{"New": {}}); err == nil {
		t.Error("a new field without interval accepted")
	}
}

func TestTelemetryEndpoints(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"POST /api/1/vehicles/fleet_telemetry_config_jws": serve(200, `{"response":{"updated_vehicles":1,
			"skipped_vehicles":{"missing_key":["VIN2"],"unsupported_firmware":[],"max_configs":["VIN3"]}}}`),
		"GET /api/1/vehicles/VIN1/fleet_telemetry_config": serve(200, `{"response":{"synced":true,"limit_reached":false,
			"key_paired":true,"config":{"hostname":"t.example.com","port":443,"ca":"x","exp":1,"fields":{"Soc":{"interval_seconds":60}}}}}`),
		"DELETE /api/1/vehicles/VIN1/fleet_telemetry_config": serve(200, `{"response":{"updated_vehicles":1}}`),
		"GET /api/1/vehicles/VIN1/fleet_telemetry_errors": serve(200, `{"response":{"fleet_telemetry_errors":[
			{"name":"client","error":"tls: unknown certificate authority","vin":"VIN1"}]}}`),
	})
	env := newTestClient(t, f.URL)
	ctx := context.Background()
	res, err := env.c.ConfigureTelemetry(ctx, []string{"VIN1", "VIN2", "VIN3"}, "jws-token")
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1 || res.SkippedVIN("VIN2") != fleet.SkipMissingKey || res.SkippedVIN("VIN3") != fleet.SkipMaxConfigs || res.SkippedVIN("VIN1") != "" {
		t.Errorf("result = %+v", res)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(f.last(t).Body), &body); err != nil || body["token"] != "jws-token" {
		t.Errorf("configure body = %s", f.last(t).Body)
	}
	st, err := env.c.TelemetryStatus(ctx, "VIN1")
	if err != nil || !st.Synced || !st.KeyPaired || st.Config == nil || st.Config.Hostname != "t.example.com" {
		t.Errorf("status = %+v, %v", st, err)
	}
	if err := env.c.RemoveTelemetry(ctx, "VIN1"); err != nil || f.last(t).Method != "DELETE" {
		t.Errorf("remove: %v", err)
	}
	errs, err := env.c.TelemetryErrors(ctx, "VIN1")
	if err != nil || len(errs) != 1 || !strings.Contains(errs[0].Error, "certificate") {
		t.Errorf("errors = %+v, %v", errs, err)
	}
	// Each call is metered under its own name, so the budget sees them.
	seen := map[string]bool{}
	for _, r := range env.rec.all() {
		seen[r.Endpoint] = true
	}
	for _, n := range []string{fleet.CallTelemetryConfigure, fleet.CallTelemetryStatus, fleet.CallTelemetryRemove, fleet.CallTelemetryErrors} {
		if !seen[n] {
			t.Errorf("%s was not metered", n)
		}
	}
}
