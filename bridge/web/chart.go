package web

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// DaySpend is one day's estimated Fleet API cost by billing category, for
// the page's chart. The budget supplies it (Options.SpendDays).
type DaySpend struct {
	// Day is the day as the budget counts it. Tesla bills per calendar
	// month in UTC, so the budget's days should be UTC dates; only the
	// date of Day (in Day's own location) is used.
	Day time.Time
	// USD is the day's estimated cost by category: "data", "command",
	// "wake", "streaming", and any other the prices know ("connectivity",
	// "energy_data"). Categories that cost nothing may be left out.
	USD map[string]float64
}

// categoryOrder stacks the known categories in the same order every day,
// each in its own colour (style.css: .cat-*); others follow by name.
var categoryOrder = []string{"data", "command", "wake", "streaming", "connectivity", "energy_data"}

// chartView is the spend chart, laid out in the SVG's own units. It is
// drawn on the server, so it needs no script and no image file, and
// scales with the page down to a phone's width.
type chartView struct {
	W, H    int
	Label   string
	Month   string
	Grid    []chartGrid
	Bars    []chartBar
	XLabels []chartText
	Legend  []chartLegend
	// Empty: nothing billable this month yet.
	Empty bool
}

type chartGrid struct {
	X1, X2, Y string
	Label     chartText
}

type chartText struct{ X, Y, Text string }

type chartBar struct {
	Title string
	Segs  []chartSeg
}

type chartSeg struct{ Class, X, Y, W, H string }

type chartLegend struct{ Class, Name, USD string }

// Chart geometry in SVG units: a 640×240 box with room for the axes.
const (
	chartW, chartH             = 640, 240
	chartLeft, chartRight      = 72, 6
	chartTop, chartBottom      = 10, 30
	chartBarShare              = 0.72
	chartMinScale              = 0.01 // a month of a few calls still gets a readable scale
	chartXLabelEvery           = 5
	chartFontBaseline          = 5 // text sits this far below a grid line's y
	chartXLabelBaselineOffset  = 22
	chartMaxUnknownCategoryCSS = 4
)

// spendChart lays out this month (UTC, as Tesla bills) as stacked bars,
// one per day of the month; days of other months are left out.
func spendChart(days []DaySpend, now time.Time) *chartView {
	month := now.UTC()
	y, m, _ := month.Date()
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	n := first.AddDate(0, 1, -1).Day()
	perDay := make([]map[string]float64, n+1)
	totals := map[string]float64{}
	for _, d := range days {
		dy, dm, dd := d.Day.Date()
		if dy != y || dm != m {
			continue
		}
		if perDay[dd] == nil {
			perDay[dd] = map[string]float64{}
		}
		for c, usd := range d.USD {
			if usd > 0 && !math.IsInf(usd, 0) && !math.IsNaN(usd) {
				perDay[dd][c] += usd
				totals[c] += usd
			}
		}
	}
	cats, classes := chartCategories(totals)
	v := &chartView{W: chartW, H: chartH, Month: first.Format("January 2006"), Empty: len(cats) == 0}
	top := 0.0
	for _, day := range perDay {
		sum := 0.0
		for _, usd := range day {
			sum += usd
		}
		top = math.Max(top, sum)
	}
	scale := niceCeil(math.Max(top, chartMinScale))
	plotW, plotH := float64(chartW-chartLeft-chartRight), float64(chartH-chartTop-chartBottom)
	for i := 0; i <= 2; i++ {
		val := scale * float64(i) / 2
		gy := float64(chartTop) + plotH*(1-float64(i)/2)
		v.Grid = append(v.Grid, chartGrid{X1: num(chartLeft), X2: num(chartW - chartRight), Y: num(gy),
			Label: chartText{X: num(chartLeft - 6), Y: num(gy + chartFontBaseline), Text: usdLabel(val, scale)}})
	}
	slot := plotW / float64(n)
	for day := 1; day <= n; day++ {
		x := float64(chartLeft) + slot*float64(day-1)
		if day == 1 || day%chartXLabelEvery == 0 {
			v.XLabels = append(v.XLabels, chartText{X: num(x + slot/2), Y: num(chartH - chartBottom + chartXLabelBaselineOffset), Text: fmt.Sprint(day)})
		}
		if len(perDay[day]) == 0 {
			continue
		}
		bar := chartBar{}
		base := float64(chartTop) + plotH
		var parts []string
		sum := 0.0
		for _, c := range cats {
			usd := perDay[day][c]
			if usd <= 0 {
				continue
			}
			h := plotH * usd / scale
			base -= h
			sum += usd
			bar.Segs = append(bar.Segs, chartSeg{Class: classes[c], X: num(x + slot*(1-chartBarShare)/2), Y: num(base), W: num(slot * chartBarShare), H: num(h)})
			parts = append(parts, fmt.Sprintf("%s %s", c, usdLabel(usd, usd)))
		}
		bar.Title = fmt.Sprintf("%d %s: %s (%s)", day, first.Format("Jan"), usdLabel(sum, sum), strings.Join(parts, ", "))
		v.Bars = append(v.Bars, bar)
	}
	total := 0.0
	for _, c := range cats {
		v.Legend = append(v.Legend, chartLegend{Class: classes[c], Name: c, USD: usdLabel(totals[c], totals[c])})
		total += totals[c]
	}
	v.Label = fmt.Sprintf("Fleet API spend per day in %s, %s in all", v.Month, usdLabel(total, total))
	return v
}

// chartCategories orders the categories that cost something and gives
// each a CSS class: the known ones their own colour, others a spare one.
func chartCategories(totals map[string]float64) ([]string, map[string]string) {
	var cats, other []string
	classes := map[string]string{}
	for _, c := range categoryOrder {
		if totals[c] > 0 {
			cats = append(cats, c)
			classes[c] = "cat-" + strings.ReplaceAll(c, "_", "-")
		}
	}
	for c, usd := range totals {
		if usd > 0 && classes[c] == "" {
			other = append(other, c)
		}
	}
	sort.Strings(other)
	for i, c := range other {
		classes[c] = fmt.Sprintf("cat-x%d", min(i+1, chartMaxUnknownCategoryCSS))
	}
	return append(cats, other...), classes
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, so the axis reads
// $0.05 or $0.20 rather than $0.0437.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if v <= f*p*(1+1e-9) {
			return f * p
		}
	}
	return 10 * p
}

// usdLabel prints an amount with the precision its scale needs.
func usdLabel(v, scale float64) string {
	switch {
	case scale >= 10:
		return fmt.Sprintf("$%.0f", v)
	case scale >= 0.1:
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("$%.3f", v)
}

func num(f float64) string { return fmt.Sprintf("%.1f", f) }
