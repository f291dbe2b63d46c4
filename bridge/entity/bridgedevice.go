package entity

import "github.com/tesla2mqtt/tesla2mqtt/mqtt/hass"

// BridgeDevice describes the "tesla2mqtt bridge" HA device: the bridge's
// own diagnostics, read from bridge/status and bridge/info.
type BridgeDevice struct {
	// Base is the base topic; Version the bridge's version.
	Base, Version string
	// Topics is the prefix of the bridge's own topics (state, info,
	// status): "" for <Base>/bridge; a shard's is <Base>/bridge/shard/<i>.
	Topics string
	Origin *hass.Origin
}

// topic is one of the bridge's own topics.
func (b BridgeDevice) topic(name string) string {
	if b.Topics == "" {
		return b.Base + "/bridge/" + name
	}
	return b.Topics + "/" + name
}

// ProblemSensor is one account dead end's problem sensor: on while
// bridge/status's problem has Code.
type ProblemSensor struct {
	Code, Name string
}

// AccountComponents are the bridge device's account entities, read from
// bridge/status: a problem sensor that turns on when Tesla needs a new
// login, one per account dead end (problems), the count of missing scopes
// (the list and what each disables as attributes), and the token's expiry.
func (b BridgeDevice) AccountComponents(problems []ProblemSensor) []hass.Component {
	status := b.topic("status")
	base := b.component(status)
	login := base("login_required", "Login required", hass.BinarySensor)
	login.DeviceClass = hass.DCProblem
	login.ValueTemplate = "{{ 'ON' if value_json.login_needed else 'OFF' }}"
	login.PayloadOn, login.PayloadOff = "ON", "OFF"
	login.JSONAttrTopic = status
	login.JSONAttrTemplate = "{{ {'login_command': value_json.login_command, 'reason': value_json.login_error} | tojson }}"

	missing := base("missing_scopes", "Missing scopes", hass.Sensor)
	missing.Icon = "mdi:key-alert"
	missing.ValueTemplate = "{{ value_json.missing_scope_count }}"
	missing.JSONAttrTopic = status
	missing.JSONAttrTemplate = "{{ {'missing': value_json.missing_scopes, 'granted': value_json.granted_scopes, " +
		"'consent_url': value_json.consent_url} | tojson }}"

	expiry := base("token_expiry", "Token expiry", hass.Sensor)
	expiry.DeviceClass = hass.DCTimestamp
	expiry.ValueTemplate = "{{ value_json.token_expiry }}"
	out := []hass.Component{login, missing, expiry}
	for _, p := range problems {
		c := base("problem_"+p.Code, p.Name, hass.BinarySensor)
		c.DeviceClass = hass.DCProblem
		c.ValueTemplate = "{{ 'ON' if value_json.problem and value_json.problem.code == '" + p.Code + "' else 'OFF' }}"
		c.PayloadOn, c.PayloadOff = "ON", "OFF"
		c.JSONAttrTopic = status
		c.JSONAttrTemplate = "{{ (value_json.problem if value_json.problem and value_json.problem.code == '" + p.Code +
			"' else {}) | tojson }}"
		out = append(out, c)
	}
	return out
}

// BudgetComponents are the bridge device's budget sensors, read from
// bridge/info: this month's spend, the month-end projection (attributes:
// budget, stretch, pause) and today's billable requests.
func (b BridgeDevice) BudgetComponents() []hass.Component {
	info := b.topic("info")
	base := b.component(info)
	spend := base("spend_month", "Spend this month", hass.Sensor)
	spend.DeviceClass, spend.Unit, spend.StateClass = hass.DCMonetary, "USD", hass.Total
	spend.DisplayPrecision = hass.Ptr(2)
	spend.ValueTemplate = "{{ value_json.budget.spend_usd }}"

	proj := base("spend_projected", "Projected spend", hass.Sensor)
	proj.DeviceClass, proj.Unit = hass.DCMonetary, "USD"
	proj.DisplayPrecision = hass.Ptr(2)
	proj.ValueTemplate = "{{ value_json.budget.projected_usd }}"
	proj.JSONAttrTopic = info
	proj.JSONAttrTemplate = "{{ {'budget_usd': value_json.budget.budget_usd, 'stretch': value_json.budget.stretch, " +
		"'paused_until': value_json.budget.paused_until} | tojson }}"

	today := base("requests_today", "Requests today", hass.Sensor)
	today.Icon = "mdi:counter"
	today.ValueTemplate = "{{ value_json.budget.requests_today }}"
	return []hass.Component{spend, proj, today}
}

// component returns a constructor of the bridge device's diagnostic
// entities, reading their state from topic.
func (b BridgeDevice) component(topic string) func(key, name string, p hass.Platform) hass.Component {
	dev := &hass.Device{Identifiers: []string{"tesla2mqtt_bridge"}, Name: "tesla2mqtt bridge",
		Manufacturer: "tesla2mqtt", Model: "Bridge", SWVersion: b.Version}
	avail := []hass.Availability{{Topic: b.topic("state")}}
	return func(key, name string, p hass.Platform) hass.Component {
		return hass.Component{Platform: p, Name: hass.Ptr(name), UniqueID: "tesla2mqtt_bridge_" + key,
			DefaultEntityID: string(p) + ".tesla2mqtt_bridge_" + key, ObjectID: "tesla2mqtt_bridge_" + key,
			Device: dev, Origin: b.Origin, Availability: avail, StateTopic: topic,
			EntityCategory: hass.CategoryDiagnostic}
	}
}
