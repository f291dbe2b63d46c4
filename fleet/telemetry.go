package fleet

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/teslamotors/vehicle-command/pkg/protocol"
	"github.com/teslamotors/vehicle-command/pkg/sign"
)

// Fleet Telemetry configuration (FLEET_API.md §6.3): the config a car
// streams by, signed as a JWS with the app's key (what tesla-http-proxy
// does for POST fleet_telemetry_config), and the endpoints that install,
// read and remove it.

// TelemetryApp is the app name the SDK signs telemetry configs for: the
// token's audience becomes "com.tesla.fleet.TelemetryClient", as with
// tesla-http-proxy.
const TelemetryApp = "TelemetryClient"

// Telemetry presets: how often each kind of signal may be sent.
const (
	PresetEco      = "eco"
	PresetBalanced = "balanced"
	PresetLive     = "live"
)

// Skip reasons of fleet_telemetry_config (skipped_vehicles keys).
const (
	SkipMissingKey          = "missing_key"
	SkipUnsupportedFirmware = "unsupported_firmware"
	SkipUnsupportedHardware = "unsupported_hardware"
	SkipMaxConfigs          = "max_configs"
)

// TelemetryField is the pacing of one signal in a config. A car sends a
// field only when IntervalSeconds have passed and the value changed (by at
// least MinimumDelta, for numbers; metres for Location).
type TelemetryField struct {
	IntervalSeconds       int      `json:"interval_seconds"`
	MinimumDelta          *float64 `json:"minimum_delta,omitempty"`
	ResendIntervalSeconds int      `json:"resend_interval_seconds,omitempty"`
}

// TelemetryConfig is the "config" object of fleet_telemetry_config; it is
// also the claim set of the signed token.
type TelemetryConfig struct {
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
	// CA is the PEM chain the car uses to verify the server.
	CA string `json:"ca"`
	// Exp is when the config expires (Unix seconds); the car stops streaming then.
	Exp            int64                     `json:"exp"`
	Fields         map[string]TelemetryField `json:"fields"`
	AlertTypes     []string                  `json:"alert_types,omitempty"`
	DeliveryPolicy string                    `json:"delivery_policy,omitempty"`
}

// signal classes: how urgent a signal is to the user, which sets its
// interval per preset.
type signalClass int

const (
	classState    signalClass = iota // bools and enums: sent only on change, so short intervals cost little
	classDriving                     // speed, heading, route
	classPosition                    // the car's position while it moves
	classCharging                    // the battery level, and what a charge is doing
	classEnergy                      // numbers that follow the battery level (ranges, kWh): slower, coarser
	classSlow                        // odometer, tyres, temperatures, versions
)

// presetIntervals are the intervals (seconds) per class of each preset.
//
// Streaming is billed per signal ($1 per 150,000), so what a day costs is
// how often each value moves by its minimum delta, capped by its interval.
// The balanced preset keeps the staleness targets of `bench economy` (p95
// 60 s driving, 5 min charging) on its reference day; the signals that cost
// most there were the position (every 10 s while driving), the three ranges
// and the energy counters (every mile or 0.1–0.2 kWh): the position now
// goes every 30 s, the numbers that merely follow the battery level every
// 5 minutes with deltas of a few miles or half a kWh. The battery level
// itself keeps its minute and its half per cent.
var presetIntervals = map[string]map[signalClass]int{
	PresetEco:      {classState: 60, classDriving: 60, classPosition: 120, classCharging: 300, classEnergy: 900, classSlow: 1800},
	PresetBalanced: {classState: 5, classDriving: 10, classPosition: 30, classCharging: 60, classEnergy: 300, classSlow: 600},
	PresetLive:     {classState: 1, classDriving: 1, classPosition: 2, classCharging: 10, classEnergy: 30, classSlow: 60},
}

// presetDeltaScale widens or narrows every minimum delta.
var presetDeltaScale = map[string]float64{PresetEco: 5, PresetBalanced: 1, PresetLive: 0.5}

// heartbeatField is resent every heartbeatSeconds while the car streams,
// though it has not changed: a parked, awake car whose values stand still
// would otherwise send nothing, and the bridge, taking the silence for a
// dead stream after 10 minutes (telemetry quiet), would pay for a
// vehicle_data read ($0.002, 300 signals' worth) and keep the car awake
// with it. One signal every 4 minutes while awake costs far less.
const (
	heartbeatField   = "Locked"
	heartbeatSeconds = 240
)

type signalPacing struct {
	class signalClass
	delta float64 // base minimum_delta in the signal's unit; 0 = none
}

// signalPacings knows Tesla's signals the bridge maps; an unlisted one is
// paced as classSlow without a delta.
var signalPacings = map[string]signalPacing{
	"VehicleSpeed": {classDriving, 1}, "Location": {classPosition, 20}, "GpsHeading": {classDriving, 5},
	"MilesToArrival": {classDriving, 0.5}, "MinutesToArrival": {classDriving, 1},
	"ExpectedEnergyPercentAtTripArrival": {classDriving, 1},
	"BatteryLevel":                       {classCharging, 0.5}, "Soc": {classEnergy, 1},
	"EstBatteryRange": {classEnergy, 3}, "RatedRange": {classEnergy, 3}, "IdealBatteryRange": {classEnergy, 3},
	"EnergyRemaining": {classEnergy, 0.5}, "ACChargingPower": {classCharging, 0.2},
	"ChargerVoltage": {classCharging, 5}, "ChargeAmps": {classCharging, 1}, "ChargeCurrentRequest": {classCharging, 1},
	"ACChargingEnergyIn": {classEnergy, 0.5}, "TimeToFullCharge": {classEnergy, 0.25},
	"Odometer": {classSlow, 0.5}, "InsideTemp": {classSlow, 0.5}, "OutsideTemp": {classSlow, 0.5},
	"TpmsPressureFl": {classSlow, 0.05}, "TpmsPressureFr": {classSlow, 0.05},
	"TpmsPressureRl": {classSlow, 0.05}, "TpmsPressureRr": {classSlow, 0.05},
	"Version": {classSlow, 0}, "SoftwareUpdateVersion": {classSlow, 0},
	"DetailedChargeState": {classState, 0}, "Gear": {classState, 0}, "Locked": {classState, 0},
	"DoorState": {classState, 0}, "SentryMode": {classState, 0}, "ChargePortDoorOpen": {classState, 0},
	"FdWindow": {classState, 0}, "FpWindow": {classState, 0}, "RdWindow": {classState, 0}, "RpWindow": {classState, 0},
	"ChargeLimitSoc": {classState, 0}, "DestinationName": {classState, 0}, "ClimateKeeperMode": {classState, 0},
	"CabinOverheatProtectionMode": {classState, 0}, "HvacLeftTemperatureRequest": {classState, 0},
	"HvacRightTemperatureRequest": {classState, 0}, "SeatHeaterLeft": {classState, 0},
	"SeatHeaterRight": {classState, 0}, "SeatHeaterRearLeft": {classState, 0},
	"SeatHeaterRearCenter": {classState, 0}, "SeatHeaterRearRight": {classState, 0},
	"ChargerPhases": {classState, 0}, "FastChargerPresent": {classState, 0}, "ValetModeEnabled": {classState, 0},
}

// TelemetryPresets lists the preset names, for config validation and help.
func TelemetryPresets() []string { return []string{PresetEco, PresetBalanced, PresetLive} }

// BuildTelemetryFields paces every field by the preset, then applies the
// per-field overrides (which may also add fields the table does not map). A
// zero MinimumDelta in an override removes the delta.
func BuildTelemetryFields(fields []string, preset string, overrides map[string]TelemetryField) (map[string]TelemetryField, error) {
	if preset == "" {
		preset = PresetBalanced
	}
	intervals, ok := presetIntervals[preset]
	if !ok {
		return nil, fmt.Errorf("unknown telemetry preset %q (known: %s)", preset, strings.Join(TelemetryPresets(), ", "))
	}
	out := make(map[string]TelemetryField, len(fields)+len(overrides))
	for _, f := range fields {
		p, ok := signalPacings[f]
		if !ok {
			p = signalPacing{class: classSlow}
		}
		tf := TelemetryField{IntervalSeconds: intervals[p.class]}
		if p.delta > 0 {
			d := p.delta * presetDeltaScale[preset]
			tf.MinimumDelta = &d
		}
		if f == heartbeatField {
			tf.ResendIntervalSeconds = heartbeatSeconds
		}
		out[f] = tf
	}
	for f, o := range overrides {
		tf := out[f]
		if o.IntervalSeconds > 0 {
			tf.IntervalSeconds = o.IntervalSeconds
		}
		if o.MinimumDelta != nil {
			tf.MinimumDelta = o.MinimumDelta
			if *o.MinimumDelta <= 0 {
				tf.MinimumDelta = nil
			}
		}
		if o.ResendIntervalSeconds > 0 {
			tf.ResendIntervalSeconds = o.ResendIntervalSeconds
		}
		if tf.IntervalSeconds <= 0 {
			return nil, fmt.Errorf("telemetry field %s: interval_seconds must be > 0", f)
		}
		out[f] = tf
	}
	return out, nil
}

// SignTelemetryConfig signs cfg with the app's private key as the SDK does
// for tesla-http-proxy (pkg/sign.SignMessageForFleet): Schnorr/P-256
// ("Tesla.SS256"), aud com.tesla.fleet.TelemetryClient, iss = the app's
// public key (base64 of the uncompressed point).
func SignTelemetryConfig(priv *ecdsa.PrivateKey, cfg TelemetryConfig) (string, error) {
	if priv == nil {
		return "", errors.New("telemetry config: no private key")
	}
	ek, err := priv.ECDH()
	if err != nil {
		return "", fmt.Errorf("telemetry config: signing key: %w", err)
	}
	key := protocol.UnmarshalECDHPrivateKey(ek.Bytes())
	if key == nil {
		return "", errors.New("telemetry config: signing key is not a P-256 private key")
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("telemetry config: %w", err)
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", fmt.Errorf("telemetry config: %w", err)
	}
	return sign.SignMessageForFleet(key, TelemetryApp, claims)
}

// VerifyTelemetryJWS checks a signed config against the app's public key
// (PEM or DER) as of now and returns the config it carries. fleetsim plays
// Tesla's side with it; tests use it to prove what configure sends.
func VerifyTelemetryJWS(token string, publicKey []byte, now time.Time) (*TelemetryConfig, error) {
	pub, err := parsePublicKey(publicKey)
	if err != nil {
		return nil, fmt.Errorf("telemetry jws: app public key: %w", err)
	}
	point := pub.Bytes()
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return point, nil },
		jwt.WithValidMethods([]string{"Tesla.SS256"}),
		jwt.WithAudience("com.tesla.fleet."+TelemetryApp),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return nil, fmt.Errorf("telemetry jws: %w", err)
	}
	if iss, _ := claims["iss"].(string); iss != base64.StdEncoding.EncodeToString(point) {
		return nil, errors.New("telemetry jws: issuer is not the app's public key")
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	var cfg TelemetryConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("telemetry jws: config: %w", err)
	}
	return &cfg, nil
}

// TelemetryConfigResult is the answer of fleet_telemetry_config: how many
// cars took the config and, per reason, the VINs that did not.
type TelemetryConfigResult struct {
	Updated int
	Skipped map[string][]string
}

// SkippedVIN returns the reason vin was skipped, or "".
func (r *TelemetryConfigResult) SkippedVIN(vin string) string {
	reasons := make([]string, 0, len(r.Skipped))
	for reason := range r.Skipped {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		for _, v := range r.Skipped[reason] {
			if v == vin {
				return reason
			}
		}
	}
	return ""
}

// ConfigureTelemetry installs a signed config on vins
// (POST /api/1/vehicles/fleet_telemetry_config_jws).
func (c *Client) ConfigureTelemetry(ctx context.Context, vins []string, token string) (*TelemetryConfigResult, error) {
	device := ""
	if len(vins) == 1 {
		device = vins[0]
	}
	var raw struct {
		Updated json.RawMessage     `json:"updated_vehicles"`
		Skipped map[string][]string `json:"skipped_vehicles"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, endpoint: CallTelemetryConfigure, device: device,
		path: "/api/1/vehicles/fleet_telemetry_config_jws",
		body: map[string]any{"vins": vins, "token": token}, out: &raw}); err != nil {
		return nil, err
	}
	return &TelemetryConfigResult{Updated: countOrList(raw.Updated), Skipped: raw.Skipped}, nil
}

// countOrList reads updated_vehicles, a count in Tesla's docs; a list of
// VINs is counted rather than refused.
func countOrList(raw json.RawMessage) int {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var vins []string
	if json.Unmarshal(raw, &vins) == nil {
		return len(vins)
	}
	return 0
}

// TelemetryStatus is a car's telemetry config as Tesla holds it.
type TelemetryStatus struct {
	// Synced is true once the car has fetched the current config.
	Synced bool `json:"synced"`
	// LimitReached is true when the car holds the maximum number of configs.
	LimitReached bool `json:"limit_reached"`
	// KeyPaired is whether the app's key is on the car (needed to stream).
	KeyPaired  bool             `json:"key_paired"`
	Config     *TelemetryConfig `json:"config"`
	AlertTypes []string         `json:"alert_types"`
}

// TelemetryStatus reads a car's config (GET …/{vin}/fleet_telemetry_config).
func (c *Client) TelemetryStatus(ctx context.Context, vin string) (*TelemetryStatus, error) {
	path, err := vehiclePath(vin, "/fleet_telemetry_config")
	if err != nil {
		return nil, err
	}
	var out TelemetryStatus
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallTelemetryStatus, device: vin,
		path: path, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveTelemetry deletes a car's config (DELETE …/{vin}/fleet_telemetry_config).
func (c *Client) RemoveTelemetry(ctx context.Context, vin string) error {
	path, err := vehiclePath(vin, "/fleet_telemetry_config")
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, endpoint: CallTelemetryRemove, device: vin, path: path})
}

// TelemetryError is one error the car reported about streaming (e.g. it
// cannot reach or verify the server).
type TelemetryError struct {
	Name      string `json:"name"`
	Error     string `json:"error"`
	VIN       string `json:"vin"`
	CreatedAt string `json:"created_at,omitempty"`
}

// TelemetryErrors reads a car's recent streaming errors
// (GET …/{vin}/fleet_telemetry_errors).
func (c *Client) TelemetryErrors(ctx context.Context, vin string) ([]TelemetryError, error) {
	path, err := vehiclePath(vin, "/fleet_telemetry_errors")
	if err != nil {
		return nil, err
	}
	var out struct {
		Errors []TelemetryError `json:"fleet_telemetry_errors"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallTelemetryErrors, device: vin,
		path: path, out: &out, nullOK: true}); err != nil {
		return nil, err
	}
	return out.Errors, nil
}
