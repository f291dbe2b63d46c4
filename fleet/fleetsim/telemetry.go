package fleetsim

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Tesla's side of Fleet Telemetry configuration (FLEET_API.md §6.3):
// POST fleet_telemetry_config_jws verifies the signed config with the app's
// public key (SetAppPublicKey) and installs it on each paired car; GET and
// DELETE …/{vin}/fleet_telemetry_config and GET …/fleet_telemetry_errors
// answer for one car. Configured cars stream through telemetry_stream.go.

// telemetryState is the simulator's telemetry side, a field of the Sim
// guarded by Sim.mu like everything else.
type telemetryState struct {
	configs map[string]*simTelemetry // by VIN
	// compat forces a skip reason for a car (SetTelemetryCompat).
	compat map[string]string
	// sink and base: where the stream goes (SetTelemetrySink).
	sink func(topic string, payload []byte)
	base string
}

// simTelemetry is one car's installed config and what it streamed.
type simTelemetry struct {
	cfg    fleet.TelemetryConfig
	synced bool // the car has fetched the config (it was online since)
	// connected: the car's connection to the telemetry server is up.
	connected bool
	connID    int
	sent      map[string]sentSignal
	emitted   map[string]int // per field, to drift a type now and then
}

type sentSignal struct {
	at    time.Time
	value any
}

// telemetry returns the Sim's telemetry state, creating it. Callers hold s.mu.
func (s *Sim) telemetry() *telemetryState {
	if s.telemetryState == nil {
		s.telemetryState = &telemetryState{configs: map[string]*simTelemetry{}, compat: map[string]string{}, base: "telemetry"}
	}
	return s.telemetryState
}

// SetTelemetryCompat makes configure skip vin with reason
// (fleet.SkipUnsupportedFirmware, SkipUnsupportedHardware, SkipMaxConfigs),
// as an old car or one with too many configs would; "" clears it.
func (s *Sim) SetTelemetryCompat(vin, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason == "" {
		delete(s.telemetry().compat, vin)
		return
	}
	s.telemetry().compat[vin] = reason
}

// TelemetryConfig returns the config installed on vin (nil: none).
func (s *Sim) TelemetryConfig(vin string) *fleet.TelemetryConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.telemetry().configs[vin]; c != nil {
		cfg := c.cfg
		return &cfg
	}
	return nil
}

// handleTelemetryConfigure installs a signed config
// (POST /api/1/vehicles/fleet_telemetry_config_jws).
func handleTelemetryConfigure(s *Sim, r *request) response {
	var body struct {
		VINs  []string `json:"vins"`
		Token string   `json:"token"`
	}
	if json.Unmarshal(r.Body, &body) != nil || len(body.VINs) == 0 || body.Token == "" {
		return apiError(http.StatusBadRequest, "invalid_field: vins and token are required")
	}
	a := s.auth()
	if a.appKey == nil {
		return apiError(http.StatusBadRequest, "invalid_field: the app's public key is not registered")
	}
	cfg, err := fleet.VerifyTelemetryJWS(body.Token, a.appKey, r.Now)
	if err != nil {
		return apiError(http.StatusBadRequest, "invalid_field: "+err.Error())
	}
	t := s.telemetry()
	skipped := map[string][]string{fleet.SkipMissingKey: {}, fleet.SkipUnsupportedHardware: {},
		fleet.SkipUnsupportedFirmware: {}, fleet.SkipMaxConfigs: {}}
	updated := 0
	for _, vin := range body.VINs {
		v := s.vehicleByTag(vin)
		if v == nil {
			continue
		}
		vin = v.snap.VIN
		reason := t.compat[vin]
		if reason == "" && !a.paired[vin] {
			reason = fleet.SkipMissingKey
		}
		if reason != "" {
			skipped[reason] = append(skipped[reason], vin)
			continue
		}
		old := t.configs[vin]
		c := &simTelemetry{cfg: *cfg, sent: map[string]sentSignal{}, emitted: map[string]int{}}
		if old != nil {
			c.connected, c.connID = old.connected, old.connID
		}
		c.synced = v.online()
		t.configs[vin] = c
		updated++
	}
	return ok(map[string]any{"updated_vehicles": updated, "skipped_vehicles": skipped})
}

// handleTelemetryStatus answers GET …/{tag}/fleet_telemetry_config.
func handleTelemetryStatus(s *Sim, r *request) response {
	vin := r.Vehicle.snap.VIN
	t := s.telemetry()
	c := t.configs[vin]
	out := map[string]any{"synced": false, "config": nil, "limit_reached": t.compat[vin] == fleet.SkipMaxConfigs,
		"key_paired": s.auth().paired[vin], "alert_types": []string{}}
	if c != nil {
		out["synced"], out["config"] = c.synced, c.cfg
		if c.cfg.AlertTypes != nil {
			out["alert_types"] = c.cfg.AlertTypes
		}
	}
	return ok(out)
}

// handleTelemetryRemove answers DELETE …/{tag}/fleet_telemetry_config; the
// car drops its connection to the server.
func handleTelemetryRemove(s *Sim, r *request) response {
	t := s.telemetry()
	n := 0
	if _, had := t.configs[r.Vehicle.snap.VIN]; had {
		delete(t.configs, r.Vehicle.snap.VIN)
		n = 1
	}
	return ok(map[string]any{"updated_vehicles": n})
}

// handleTelemetryErrors answers GET …/{tag}/fleet_telemetry_errors: a
// config without a CA chain cannot verify the server, as on a real car.
func handleTelemetryErrors(s *Sim, r *request) response {
	errs := []map[string]any{}
	if c := s.telemetry().configs[r.Vehicle.snap.VIN]; c != nil && c.cfg.CA == "" {
		errs = append(errs, map[string]any{"name": "client_tls", "vin": r.Vehicle.snap.VIN,
			"error":      "x509: certificate signed by unknown authority (the config carries no ca)",
			"created_at": r.Now.UTC().Format(time.RFC3339)})
	}
	return ok(map[string]any{"fleet_telemetry_errors": errs})
}

// configuredVINs lists the cars with a config, sorted. Callers hold s.mu.
func (t *telemetryState) configuredVINs() []string {
	out := make([]string, 0, len(t.configs))
	for vin := range t.configs {
		out = append(out, vin)
	}
	sort.Strings(out)
	return out
}
