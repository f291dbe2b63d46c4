package bridge

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// TeslaMate compatibility: the retained scalar topics TeslaMate publishes
// (teslamate/cars/<n>/<key>), computed from the car's Fleet data in
// TeslaMate's names and units (km, km/h, °C, bar, kW, hours), so evcc's
// teslamate template, TeslaMateAgile and existing flows work unchanged.
// The values come from the VehicleView, not from the entity table, so the
// aliases do not move when the table does.

// teslaMateState is one bridge's TeslaMate publishing state.
type teslaMateState struct {
	mu     sync.Mutex
	prefix string
	ids    map[string]int               // VIN → car id
	last   map[string]string            // topic → last payload
	since  map[string]teslaMateSinceRec // VIN → state and when it began
}

type teslaMateSinceRec struct {
	state string
	at    time.Time
}

var teslaMateByBridge sync.Map // *Bridge → *teslaMateState

// EnableTeslaMate turns on the TeslaMate-compatible topics under prefix
// ("teslamate" by default). Car ids follow the order of the configured
// [[vehicle]] entries, then the other cars by VIN, starting at 1 as in
// TeslaMate; an id once given never changes while the bridge runs.
func (b *Bridge) EnableTeslaMate(prefix string) {
	if prefix == "" {
		prefix = "teslamate"
	}
	teslaMateByBridge.Store(b, &teslaMateState{prefix: strings.TrimRight(prefix, "/"), ids: map[string]int{},
		last: map[string]string{}, since: map[string]teslaMateSinceRec{}})
	for _, d := range b.sortedDevices() {
		b.PublishTeslaMate(d.name, true)
	}
}

// PublishTeslaMate publishes the TeslaMate topics of one car (by topic
// name) whose value changed, or all of them when force is set (after a
// reconnect). It is cheap and does nothing unless EnableTeslaMate was
// called; publishState calls it, without holding b.mu.
func (b *Bridge) PublishTeslaMate(device string, force bool) {
	v, ok := teslaMateByBridge.Load(b)
	if !ok {
		return
	}
	tm := v.(*teslaMateState)
	b.mu.Lock()
	d := b.devices[device]
	if d == nil || d.vehicle == nil {
		b.mu.Unlock()
		return
	}
	vin := d.uid
	values := teslaMateValues(d.vehicle)
	values["healthy"] = strconv.FormatBool(d.lastError == "")
	b.mu.Unlock()

	tm.mu.Lock()
	id := tm.id(vin, b.opts.Vehicles)
	if rec, ok := tm.since[vin]; !ok || rec.state != values["state"] {
		tm.since[vin] = teslaMateSinceRec{state: values["state"], at: b.now()}
	}
	values["since"] = tm.since[vin].at.UTC().Format(time.RFC3339)
	base := tm.prefix + "/cars/" + strconv.Itoa(id) + "/"
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type msg struct{ topic, payload string }
	var out []msg
	for _, k := range keys {
		topic := base + k
		if !force && tm.last[topic] == values[k] {
			continue
		}
		tm.last[topic] = values[k]
		out = append(out, msg{topic, values[k]})
	}
	tm.mu.Unlock()
	for _, m := range out {
		b.publish(m.topic, []byte(m.payload), true)
	}
}

// id returns the car id of a VIN, assigning the next free one.
func (tm *teslaMateState) id(vin string, configured []VehicleName) int {
	if id, ok := tm.ids[vin]; ok {
		return id
	}
	id := len(tm.ids) + 1
	for i, v := range configured {
		if v.VIN == vin {
			id = i + 1
		}
	}
	for slices.Contains(tm.idList(), id) {
		id++
	}
	tm.ids[vin] = id
	return id
}

func (tm *teslaMateState) idList() []int {
	out := make([]int, 0, len(tm.ids))
	for _, id := range tm.ids {
		out = append(out, id)
	}
	return out
}

// teslaMateValues returns TeslaMate's keys and payloads for a car; keys
// whose value Tesla did not send are left out, as TeslaMate does.
func teslaMateValues(v *VehicleView) map[string]string {
	out := map[string]string{}
	str := func(k string, s *string) {
		if s != nil {
			out[k] = *s
		}
	}
	num := func(k string, f *float64, factor float64, places int) {
		if f != nil {
			out[k] = strconv.FormatFloat(round(*f*factor, places), 'f', -1, 64)
		}
	}
	flag := func(k string, b *bool) {
		if b != nil {
			out[k] = strconv.FormatBool(*b)
		}
	}
	open := func(k string, fs ...*float64) {
		isOpen, known := false, false
		for _, f := range fs {
			if f != nil {
				known = true
				isOpen = isOpen || *f != 0
			}
		}
		if known {
			out[k] = strconv.FormatBool(isOpen)
		}
	}
	if v.DisplayName != "" {
		out["display_name"] = v.DisplayName
	}
	out["state"] = teslaMateStateOf(v)
	if c := v.Data.Charge; c != nil {
		num("battery_level", c.BatteryLevel, 1, 0)
		num("usable_battery_level", c.UsableBatteryLevel, 1, 0)
		num("est_battery_range_km", c.EstBatteryRange, kmPerMile, 2)
		num("rated_battery_range_km", c.BatteryRange, kmPerMile, 2)
		num("ideal_battery_range_km", c.IdealBatteryRange, kmPerMile, 2)
		str("charging_state", c.ChargingState)
		if c.ChargingState != nil {
			// TeslaMate's own rule: plugged in unless the state says the cable is out.
			out["plugged_in"] = strconv.FormatBool(*c.ChargingState != "Disconnected" && *c.ChargingState != "")
		}
		num("charge_energy_added", c.ChargeEnergyAdded, 1, 2)
		num("charge_limit_soc", c.ChargeLimitSOC, 1, 0)
		flag("charge_port_door_open", c.ChargePortDoorOpen)
		num("charger_actual_current", c.ChargerActualCurrent, 1, 2)
		num("charger_phases", c.ChargerPhases, 1, 0)
		num("charger_power", c.ChargerPower, 1, 2)
		num("charger_voltage", c.ChargerVoltage, 1, 0)
		num("charge_current_request", c.ChargeCurrentRequest, 1, 0)
		num("charge_current_request_max", c.ChargeCurrentRequestMax, 1, 0)
		num("time_to_full_charge", c.TimeToFullCharge, 1, 2)
		if s := c.ScheduledChargingStart; s != nil && *s > 0 {
			out["scheduled_charging_start_time"] = time.Unix(int64(*s), 0).UTC().Format(time.RFC3339)
		}
	}
	if c := v.Data.Climate; c != nil {
		flag("is_climate_on", c.IsClimateOn)
		num("inside_temp", c.InsideTemp, 1, 1)
		num("outside_temp", c.OutsideTemp, 1, 1)
		flag("is_preconditioning", c.IsPreconditioning)
	}
	if d := v.Data.Drive; d != nil {
		num("latitude", d.Latitude, 1, 6)
		num("longitude", d.Longitude, 1, 6)
		num("heading", d.Heading, 1, 0)
		num("speed", d.Speed, kmPerMile, 0)
		// power is the API's drive_state.power in kW, as TeslaMate passes it on.
		num("power", d.Power, 1, 0)
		str("shift_state", d.ShiftState)
		if d.Latitude != nil && d.Longitude != nil {
			loc, _ := json.Marshal(map[string]float64{"latitude": *d.Latitude, "longitude": *d.Longitude})
			out["location"] = string(loc)
		}
	}
	if s := v.Data.Vehicle; s != nil {
		if s.CarVersion != nil {
			out["version"] = strings.Fields(*s.CarVersion + " ")[0]
		}
		num("odometer", s.Odometer, kmPerMile, 2)
		flag("locked", s.Locked)
		flag("sentry_mode", s.SentryMode)
		flag("is_user_present", s.IsUserPresent)
		open("doors_open", s.DriverFront, s.DriverRear, s.PassengerFront, s.PassengerRear)
		open("driver_front_door_open", s.DriverFront)
		open("driver_rear_door_open", s.DriverRear)
		open("passenger_front_door_open", s.PassengerFront)
		open("passenger_rear_door_open", s.PassengerRear)
		open("windows_open", s.FdWindow, s.FpWindow, s.RdWindow, s.RpWindow)
		open("trunk_open", s.RearTrunk)
		open("frunk_open", s.FrontTrunk)
		num("tpms_pressure_fl", s.TpmsPressureFL, 1, 2)
		num("tpms_pressure_fr", s.TpmsPressureFR, 1, 2)
		num("tpms_pressure_rl", s.TpmsPressureRL, 1, 2)
		num("tpms_pressure_rr", s.TpmsPressureRR, 1, 2)
		if u := s.SoftwareUpdate; u != nil && u.Status != nil {
			switch *u.Status {
			case "available", "scheduled", "downloading", "downloading_wifi_wait", "installing":
				out["update_available"] = "true"
				str("update_version", u.Version)
			default:
				out["update_available"] = "false"
			}
		}
	}
	if c := v.Data.Config; c != nil {
		if c.CarType != nil {
			if m := teslaMateModel(*c.CarType); m != "" {
				out["model"] = m
			}
		}
		str("trim_badging", c.TrimBadging)
		str("exterior_color", c.ExteriorColor)
		str("wheel_type", c.WheelType)
	}
	return out
}

// teslaMateStateOf maps the Fleet state and the car's activity onto
// TeslaMate's states: online, asleep, offline, charging, driving, updating.
func teslaMateStateOf(v *VehicleView) string {
	switch v.State {
	case fleet.StateAsleep:
		return "asleep"
	case fleet.StateOnline:
	default:
		return "offline"
	}
	if s := v.Data.Vehicle; s != nil && s.SoftwareUpdate != nil && s.SoftwareUpdate.Status != nil &&
		*s.SoftwareUpdate.Status == "installing" {
		return "updating"
	}
	switch mode(v) {
	case modeDriving:
		return "driving"
	case modeCharging:
		return "charging"
	}
	return "online"
}

// teslaMateModel is TeslaMate's one-letter model.
func teslaMateModel(carType string) string {
	switch strings.ToLower(carType) {
	case "models", "models2", "lychee":
		return "S"
	case "model3":
		return "3"
	case "modelx", "tamarind":
		return "X"
	case "modely":
		return "Y"
	}
	return ""
}
