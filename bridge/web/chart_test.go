package web

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSpendChartLaysOutTheMonth(t *testing.T) {
	days := []DaySpend{
		{Day: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), USD: map[string]float64{"data": 0.03, "wake": 0.02}},
		{Day: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), USD: map[string]float64{"data": 0.01, "telemetry_extra": 0.005, "command": math.NaN()}},
		{Day: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), USD: map[string]float64{"data": 9}}, // last month
	}
	v := spendChart(days, testNow)
	if v.Month != "November 2026" || len(v.Bars) != 2 || v.Empty {
		t.Fatalf("month %q, %d bars, empty %v; want November with 2 bars", v.Month, len(v.Bars), v.Empty)
	}
	// The tallest day is $0.05: the axis goes to $0.05, not to last month's $9.
	if top := v.Grid[2].Label.Text; top != "$0.050" {
		t.Errorf("axis top %q, want $0.050", top)
	}
	var names []string
	for _, l := range v.Legend {
		names = append(names, l.Class+"="+l.Name+" "+l.USD)
	}
	if got := strings.Join(names, ", "); got != "cat-data=data $0.040, cat-wake=wake $0.020, cat-x1=telemetry_extra $0.005" {
		t.Errorf("legend %s", got)
	}
	if !strings.HasPrefix(v.Bars[0].Title, "1 Nov: $0.050 (data $0.030, wake $0.020)") {
		t.Errorf("tooltip %q", v.Bars[0].Title)
	}
	// Stacked: wake sits on data, and the stack is as tall as its share of the axis.
	d, w := v.Bars[0].Segs[0], v.Bars[0].Segs[1]
	dy, _ := strconv.ParseFloat(d.Y, 64)
	wy, _ := strconv.ParseFloat(w.Y, 64)
	wh, _ := strconv.ParseFloat(w.H, 64)
	if d.Class != "cat-data" || w.Class != "cat-wake" || math.Abs(wy+wh-dy) > 0.11 {
		t.Errorf("segments %+v", v.Bars[0].Segs)
	}
	if empty := spendChart(nil, testNow); !empty.Empty || len(empty.Bars) != 0 || len(empty.XLabels) == 0 {
		t.Errorf("a month without spend: %+v", empty)
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0.0437: 0.05, 0.05: 0.05, 0.11: 0.2, 1.2: 2, 7: 10, 0.01: 0.01} {
		if got := niceCeil(in); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
