package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Metrics are the bridge's Prometheus collectors, all named tesla2mqtt_*.
// It is a fleet.Recorder, so cmd adds it to the Fleet client's
// fleet.MultiRecorder beside the Meter; it is a contract.Hook, so command
// results arrive as the bridge publishes them; and per-device state is read
// from the bridge's Status at scrape time (Watch), so nothing is counted
// twice or goes stale.
type Metrics struct {
	contract.HookBase
	// prices are the configured price table, so the spend metric agrees
	// with the budget.
	prices   fleet.Prices
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	spend    *prometheus.CounterVec
	results  *prometheus.CounterVec
	pollDur  *prometheus.HistogramVec

	mu  sync.Mutex
	src StatusSource
}

// StatusSource is where the per-device metrics come from at scrape time;
// *bridge.Bridge implements it.
type StatusSource interface {
	Status() contract.Status
}

// New builds the collectors on a registry of their own (plus the Go
// runtime and process collectors), so tests can build several.
func New(prices fleet.Prices) *Metrics {
	m := &Metrics{
		prices: prices,
		reg:    prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tesla2mqtt_fleet_requests_total",
			Help: "Fleet API responses by metering endpoint, billing category and HTTP status (0: no response).",
		}, []string{"endpoint", "category", "status"}),
		spend: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tesla2mqtt_fleet_spend_usd_total",
			Help: "Estimated Fleet API cost in USD by billing category, from Tesla's published prices.",
		}, []string{"category"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tesla2mqtt_command_results_total",
			Help: "Command results published on <base>/<device>/result, by status and error code (\"none\" for success).",
		}, []string{"status", "code"}),
		pollDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tesla2mqtt_poll_duration_seconds",
			Help:    "Duration of the Fleet API reads the polling jobs make, by endpoint.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
	}
	m.reg.MustRegister(m.requests, m.spend, m.results, m.pollDur,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Record implements fleet.Recorder.
func (m *Metrics) Record(r fleet.Request) {
	cat := r.Category
	if cat == "" {
		cat = fleet.CategoryOf(r.Endpoint)
	}
	m.requests.WithLabelValues(r.Endpoint, string(cat), strconv.Itoa(r.Status)).Inc()
	if r.Billable() {
		r.Category = cat
		if p := m.prices.Of(r); p > 0 {
			m.spend.WithLabelValues(string(cat)).Add(p)
		}
	}
	// Reads are what polling does; commands and wakes are timed by their
	// results instead.
	if r.Status > 0 && (cat == fleet.CategoryData || cat == fleet.CategoryFree) {
		m.pollDur.WithLabelValues(r.Endpoint).Observe(r.Duration.Seconds())
	}
}

// WatchMQTT exports the MQTT connection's state, read at scrape time.
func (m *Metrics) WatchMQTT(connected func() bool, reconnects func() int) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tesla2mqtt_mqtt_connected",
			Help: "1 while the bridge is connected to the MQTT broker."},
			func() float64 { return boolFloat(connected()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tesla2mqtt_mqtt_reconnects_total",
			Help: "Successful MQTT reconnects since start."},
			func() float64 { return float64(reconnects()) }),
	)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Watch exposes src's per-device state (last successful poll, Fleet
// state, login) at scrape time.
func (m *Metrics) Watch(src StatusSource) {
	m.mu.Lock()
	first := m.src == nil
	m.src = src
	m.mu.Unlock()
	if first {
		m.reg.MustRegister(deviceCollector{m})
	}
}

// OnResult implements contract.Hook: it counts one published command result.
func (m *Metrics) OnResult(_ string, r command.Result) {
	code := "none"
	if r.Error != nil && r.Error.Code != "" {
		code = r.Error.Code
	}
	m.results.WithLabelValues(r.Status, code).Inc()
}

// Metrics count results as a hook and requests as a recorder.
var (
	_ contract.Hook  = (*Metrics)(nil)
	_ fleet.Recorder = (*Metrics)(nil)
)

// deviceCollector reads the bridge's snapshot at scrape time.
type deviceCollector struct{ m *Metrics }

var (
	descLastPoll = prometheus.NewDesc("tesla2mqtt_last_successful_poll_timestamp_seconds",
		"Unix time of the last successful Fleet API read of a device (absent before the first).",
		[]string{"device", "kind"}, nil)
	descDeviceError = prometheus.NewDesc("tesla2mqtt_device_last_read_failed",
		"1 when the last Fleet API read of a device failed.", []string{"device", "kind"}, nil)
	descVehicleState = prometheus.NewDesc("tesla2mqtt_vehicle_state",
		"1 for a car's current Fleet state (online, asleep, offline).", []string{"device", "state"}, nil)
	descLoginNeeded = prometheus.NewDesc("tesla2mqtt_login_required",
		"1 when Tesla needs a new login.", nil, nil)
	descMissingScopes = prometheus.NewDesc("tesla2mqtt_missing_scopes",
		"Scopes the configuration asks for that the token lacks.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c deviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastPoll, descDeviceError, descVehicleState, descLoginNeeded, descMissingScopes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c deviceCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	src := c.m.src
	c.m.mu.Unlock()
	st := src.Status()
	ch <- prometheus.MustNewConstMetric(descLoginNeeded, prometheus.GaugeValue, boolFloat(st.Account.LoginNeeded))
	ch <- prometheus.MustNewConstMetric(descMissingScopes, prometheus.GaugeValue, float64(st.Account.MissingCount))
	for _, d := range st.Devices {
		if !d.LastPoll.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastPoll, prometheus.GaugeValue,
				float64(d.LastPoll.UnixMilli())/1000, d.Name, d.Kind)
		}
		ch <- prometheus.MustNewConstMetric(descDeviceError, prometheus.GaugeValue, boolFloat(d.LastError != ""), d.Name, d.Kind)
		if d.Kind == "vehicle" {
			for _, s := range []string{fleet.StateOnline, fleet.StateAsleep, fleet.StateOffline} {
				ch <- prometheus.MustNewConstMetric(descVehicleState, prometheus.GaugeValue, boolFloat(d.FleetState == s), d.Name, s)
			}
		}
	}
}
