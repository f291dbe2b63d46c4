package fleetsim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// The simulated cars' stream, in the format of fleet-telemetry's MQTT
// dispatcher: <base>/<VIN>/v/<Field> carrying {"value": x} per signal and
// <base>/<VIN>/connectivity carrying {"ConnectionId","Status","CreatedAt"}.
// The simulator starts no goroutines: TelemetryTick emits what is due as
// of the clock's now, and the caller (cmd's ticker, or a test) drives it.
// fleetsim does not know MQTT; the sink publishes.

// SetTelemetrySink sets where the stream goes: sink gets each message's
// topic and payload, under topic base (default "telemetry"). nil stops it.
func (s *Sim) SetTelemetrySink(base string, sink func(topic string, payload []byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.telemetry()
	t.sink = sink
	if base != "" {
		t.base = base
	}
}

type simMessage struct {
	topic   string
	payload []byte
}

// TelemetryTick emits what the configured cars would have streamed by the
// clock's now: CONNECTED when a car is awake (then every field once),
// DISCONNECTED when it fell asleep, and each field whose interval has
// passed and whose value moved by its minimum delta. It returns the number
// of messages sent. Now and then VehicleSpeed arrives as a string, as it
// does from some firmware.
func (s *Sim) TelemetryTick() int {
	s.mu.Lock()
	now := s.clock.Now()
	s.advanceLocked(now)
	t := s.telemetry()
	sink, base := t.sink, t.base
	var out []simMessage
	for _, vin := range t.configuredVINs() {
		c, v := t.configs[vin], s.vehicleByTag(vin)
		if v == nil {
			continue
		}
		out = append(out, c.tick(v, base, now)...)
	}
	s.mu.Unlock()
	if sink == nil {
		return 0
	}
	for _, m := range out {
		sink(m.topic, m.payload)
	}
	return len(out)
}

// tick is one car's stream step. Callers hold Sim.mu.
func (c *simTelemetry) tick(v *vehicleSim, base string, now time.Time) []simMessage {
	prefix := base + "/" + v.snap.VIN
	var out []simMessage
	conn := func(status string) {
		b, _ := json.Marshal(map[string]string{"ConnectionId": fmt.Sprintf("sim-%s-%d", v.snap.VIN[len(v.snap.VIN)-4:], c.connID),
			"Status": status, "CreatedAt": now.UTC().Format(time.RFC3339)})
		out = append(out, simMessage{prefix + "/connectivity", b})
	}
	if !v.online() {
		if c.connected {
			c.connected = false
			conn("DISCONNECTED")
		}
		return out
	}
	c.synced = true
	if c.cfg.CA == "" {
		return out // the car cannot verify the server (fleet_telemetry_errors says so)
	}
	if !c.connected {
		c.connected = true
		c.connID++
		c.sent = map[string]sentSignal{} // a new connection sends everything once
		conn("CONNECTED")
	}
	names := make([]string, 0, len(c.cfg.Fields))
	for f := range c.cfg.Fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		val, ok := simSignal(v, f)
		if !ok {
			continue
		}
		fc := c.cfg.Fields[f]
		last, seen := c.sent[f]
		if seen {
			interval := time.Duration(fc.IntervalSeconds) * time.Second
			resend := fc.ResendIntervalSeconds > 0 && now.Sub(last.at) >= time.Duration(fc.ResendIntervalSeconds)*time.Second
			delta := 0.0
			if fc.MinimumDelta != nil {
				delta = *fc.MinimumDelta
			}
			if now.Sub(last.at) < interval || !resend && !moved(last.value, val, delta) {
				continue
			}
		}
		c.sent[f] = sentSignal{at: now, value: val}
		c.emitted[f]++
		payload := val
		if f == "VehicleSpeed" && c.emitted[f]%3 == 0 {
			if x, ok := val.(float64); ok {
				payload = strconv.FormatFloat(x, 'f', -1, 64) // type drift
			}
		}
		b, _ := json.Marshal(map[string]any{"value": payload})
		out = append(out, simMessage{prefix + "/v/" + f, b})
	}
	return out
}

// moved reports whether a signal changed enough to be sent again.
func moved(old, cur any, delta float64) bool {
	a, okA := old.(float64)
	b, okB := cur.(float64)
	if okA && okB {
		if delta > 0 {
			return math.Abs(a-b) >= delta
		}
		return a != b
	}
	if la, ok := old.(map[string]float64); ok {
		lb := cur.(map[string]float64)
		// Location's delta is in metres; a degree of latitude is ~111 km.
		d := math.Hypot(la["latitude"]-lb["latitude"], la["longitude"]-lb["longitude"]) * 111000
		return d > 0 && d >= delta
	}
	ja, _ := json.Marshal(old)
	jb, _ := json.Marshal(cur)
	return string(ja) != string(jb)
}

// simSignal is the car's current value of a Fleet Telemetry field, in the
// car's streaming units (miles, mph, °C, bar, kW, kWh, hours) and enum words.
func simSignal(v *vehicleSim, field string) (any, bool) {
	s := &v.snap
	charging := s.ChargingState == ChargingCharging
	rangeMi := s.BatteryLevel / 100 * s.RatedRangeMiles
	doors := map[string]bool{"DriverFront": false, "DriverRear": false, "PassengerFront": false,
		"PassengerRear": false, "TrunkFront": s.FrunkOpen, "TrunkRear": s.TrunkOpen}
	window := "WindowStateClosed"
	if s.WindowsVented {
		window = "WindowStatePartiallyOpen"
	}
	gear := "ShiftStateP"
	if s.ShiftState != "" {
		gear = "ShiftState" + s.ShiftState
	}
	sentry := "SentryModeStateOff"
	if s.Sentry {
		sentry = "SentryModeStateArmed"
	}
	keeper := map[string]string{"keep": "On", "dog": "Dog", "camp": "Party"}[s.ClimateKeeper]
	if keeper == "" {
		keeper = "Off"
	}
	cop := s.CabinOverheat
	if cop == "" {
		cop = "Off"
	}
	hours := 0.0
	if charging && s.PackKWh > 0 {
		if pct := s.ChargerPowerKW() * chargeEfficiency / s.PackKWh * 100; pct > 0 {
			hours = round(math.Max(0, s.ChargeLimit-s.BatteryLevel)/pct, 2)
		}
	}
	amps := 0.0
	if charging {
		amps = s.ChargeAmps
	}
	values := map[string]any{
		"BatteryLevel": round(s.BatteryLevel, 1), "Soc": round(s.BatteryLevel, 1),
		"RatedRange": round(rangeMi, 1), "EstBatteryRange": round(rangeMi*0.92, 1), "IdealBatteryRange": round(rangeMi, 1),
		"EnergyRemaining":     round(s.BatteryLevel/100*s.PackKWh, 2),
		"DetailedChargeState": "DetailedChargeState" + s.ChargingState, "ChargeLimitSoc": s.ChargeLimit,
		"ChargeCurrentRequest": s.ChargeAmps, "ChargeAmps": amps, "ACChargingPower": round(s.ChargerPowerKW(), 2),
		"ChargerVoltage": s.ChargerVoltage, "ACChargingEnergyIn": round(s.ChargeEnergyAdded, 2),
		"TimeToFullCharge": hours, "ChargePortDoorOpen": s.ChargePortOpen, "ChargerPhases": float64(s.ChargerPhases),
		"VehicleSpeed": s.Speed, "Gear": gear, "Odometer": round(s.Odometer, 2), "GpsHeading": s.Heading,
		"Location": map[string]float64{"latitude": s.Latitude, "longitude": s.Longitude},
		"Locked":   s.Locked, "SentryMode": sentry, "DoorState": doors,
		"FdWindow": window, "FpWindow": window, "RdWindow": window, "RpWindow": window,
		"InsideTemp": round(s.InsideTemp, 1), "OutsideTemp": s.OutsideTemp,
		"HvacLeftTemperatureRequest": s.DriverTemp, "HvacRightTemperatureRequest": s.PassengerTemp,
		"SeatHeaterLeft": float64(s.SeatHeaters[0]), "SeatHeaterRight": float64(s.SeatHeaters[1]),
		"SeatHeaterRearLeft": float64(s.SeatHeaters[2]), "SeatHeaterRearCenter": float64(s.SeatHeaters[4]),
		"SeatHeaterRearRight":         float64(s.SeatHeaters[5]),
		"ClimateKeeperMode":           "ClimateKeeperModeState" + keeper,
		"CabinOverheatProtectionMode": "CabinOverheatProtectionModeState" + cop,
		"TpmsPressureFl":              s.TpmsFL, "TpmsPressureFr": s.TpmsFR, "TpmsPressureRl": s.TpmsRL, "TpmsPressureRr": s.TpmsRR,
		"Version": s.CarVersion,
	}
	x, ok := values[field]
	return x, ok
}
