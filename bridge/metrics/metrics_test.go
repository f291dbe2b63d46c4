package metrics

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

const testVIN = "5YJ3E1EA7PF000001"

// fakeStatus is a bridge's snapshot, as the scrape reads it.
type fakeStatus struct{ st contract.Status }

func (f fakeStatus) Status() contract.Status { return f.st }

func TestMetricsCountRequestsSpendResultsAndPolls(t *testing.T) {
	m := New(fleet.DefaultPrices())
	m.Watch(fakeStatus{contract.Status{Devices: []contract.DeviceStatus{
		{Name: testVIN, Kind: "vehicle", FleetState: "online", LastPoll: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)},
		{Name: "42", Kind: "energy_site", LastError: "live_status: 503"}}}})
	m.WatchMQTT(func() bool { return true }, func() int { return 3 })
	rec := fleet.MultiRecorder{fleet.NewMeter(), m}
	rec.Record(fleet.Request{Endpoint: fleet.CallVehicleData, Category: fleet.CategoryData, Status: 200, Duration: 300 * time.Millisecond})
	rec.Record(fleet.Request{Endpoint: fleet.CallVehicleData, Category: fleet.CategoryData, Status: 408, Duration: time.Second})
	rec.Record(fleet.Request{Endpoint: fleet.CallWakeUp, Category: fleet.CategoryWake, Status: 200})
	m.OnResult(testVIN, command.Result{Status: command.StatusOK})
	m.OnResult(testVIN, command.Result{Status: command.StatusError, Error: &command.ResultError{Code: command.CodeKeyNotPaired}})

	got := gather(t, m.Registry())
	for name, want := range map[string]float64{
		`tesla2mqtt_fleet_requests_total{category="data",endpoint="vehicle_data",status="200"}`: 1,
		`tesla2mqtt_fleet_requests_total{category="data",endpoint="vehicle_data",status="408"}`: 1,
		`tesla2mqtt_fleet_spend_usd_total{category="data"}`:                                     0.004, // a 408 is billed too
		`tesla2mqtt_fleet_spend_usd_total{category="wake"}`:                                     0.02,
		`tesla2mqtt_command_results_total{code="none",status="ok"}`:                             1,
		`tesla2mqtt_command_results_total{code="key_not_paired",status="error"}`:                1,
		`tesla2mqtt_poll_duration_seconds_count{endpoint="vehicle_data"}`:                       2,
		`tesla2mqtt_mqtt_reconnects_total`:                                                      3,
		`tesla2mqtt_mqtt_connected`:                                                             1,
		`tesla2mqtt_vehicle_state{device="` + testVIN + `",state="online"}`:                     1,
	} {
		if v, ok := got[name]; !ok || math.Abs(v-want) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if got[`tesla2mqtt_last_successful_poll_timestamp_seconds{device="`+testVIN+`",kind="vehicle"}`] == 0 {
		t.Error("no last successful poll for the car")
	}
	if got[`tesla2mqtt_device_last_read_failed{device="42",kind="energy_site"}`] != 1 {
		t.Error("the site's failed read is not reported")
	}
	if _, ok := got[`tesla2mqtt_vehicle_state{device="42",state="online"}`]; ok {
		t.Error("a site has a vehicle state")
	}
}

// gather flattens a registry into "name{labels}" → value.
func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[name] = m.Counter.GetValue()
			case dto.MetricType_GAUGE:
				out[name] = m.Gauge.GetValue()
			case dto.MetricType_HISTOGRAM:
				n := mf.GetName() + "_count"
				if len(labels) > 0 {
					n += "{" + strings.Join(labels, ",") + "}"
				}
				out[n] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}
