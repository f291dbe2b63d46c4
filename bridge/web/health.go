package web

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// Health is the body of /healthz: the verdict and which part fails.
type Health struct {
	// Status is "ok" or "fail".
	Status string `json:"status"`
	// Failing names the failing parts: "mqtt", "token", "account",
	// "device:<name>".
	Failing []string `json:"failing"`
	MQTT    Check    `json:"mqtt"`
	Token   Check    `json:"token"`
	// Account fails while the account is at a dead end (not registered in
	// the region, wrong region, billing limit, app disabled, payment).
	Account Check         `json:"account"`
	Devices []DeviceCheck `json:"devices"`
}

// Check is one part of the verdict.
type Check struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// DeviceCheck is one device's part: healthy when its last Fleet call
// succeeded or the car is asleep.
type DeviceCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	State  string `json:"state,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// health judges the bridge: MQTT connected, token valid, and every
// device's last Fleet call successful (a sleeping car is healthy: reading
// it would cost money and wake nothing).
func health(st contract.Status, mqttConnected func() bool) Health {
	h := Health{Failing: []string{}, Devices: []DeviceCheck{}}
	switch {
	case mqttConnected == nil:
		h.MQTT = Check{OK: true, Detail: "not checked"}
	case mqttConnected():
		h.MQTT = Check{OK: true, Detail: "connected"}
	default:
		h.MQTT = Check{Detail: "not connected to the broker"}
		h.Failing = append(h.Failing, "mqtt")
	}
	a := st.Account
	switch {
	case a.LoginNeeded:
		detail := "Tesla needs a new login"
		if a.LoginError != "" {
			detail += ": " + a.LoginError
		}
		if a.LoginCommand != "" {
			detail += "; " + a.LoginCommand
		}
		h.Token = Check{Detail: detail}
		h.Failing = append(h.Failing, "token")
	case !st.AccountKnown:
		h.Token = Check{OK: true, Detail: "valid (not tracked)"}
	default:
		h.Token = Check{OK: true, Detail: "valid"}
	}
	if p := a.Problem; p != nil {
		h.Account = Check{Detail: p.Code + ": " + p.Remedy}
		h.Failing = append(h.Failing, "account")
	} else {
		h.Account = Check{OK: true, Detail: "no problem known"}
	}
	for _, d := range st.Devices {
		c := DeviceCheck{Name: d.Name, State: d.FleetState, OK: d.LastError == ""}
		if !c.OK {
			c.Detail = d.LastError
			h.Failing = append(h.Failing, "device:"+d.Name)
		}
		h.Devices = append(h.Devices, c)
	}
	sort.Slice(h.Devices, func(i, j int) bool { return h.Devices[i].Name < h.Devices[j].Name })
	h.Status = "ok"
	if len(h.Failing) > 0 {
		h.Status = "fail"
	}
	return h
}

// handleHealth answers 200 when healthy and 503 otherwise, with the JSON
// verdict either way, so `curl` and Docker's HEALTHCHECK agree.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := health(s.opts.Bridge.Status(), s.opts.MQTTConnected)
	w.Header().Set("Content-Type", "application/json")
	if h.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(h)
}
