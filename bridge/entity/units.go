package entity

import "math"

// Unit systems the user can ask for ([units] in the config).
const (
	UnitsNative   = "native"   // the API's own units: miles, mph, °C, bar
	UnitsMetric   = "metric"   // km, km/h, °C, bar
	UnitsImperial = "imperial" // mi, mph, °F, psi
)

// KmPerMile converts the API's miles and mph.
const KmPerMile = 1.609344

// Convert is the one place where values change units. It returns the value
// and the unit to announce in discovery. Unknown combinations pass through
// unchanged, so a table row with QNone is never touched.
func Convert(q Quantity, system string, v float64) float64 {
	switch {
	case q == QDistanceMi && system == UnitsMetric:
		return Round(v*KmPerMile, 2)
	case q == QSpeedMph && system == UnitsMetric:
		return Round(v*KmPerMile, 1)
	case q == QTempC && system == UnitsImperial:
		return Round(v*9/5+32, 1)
	case q == QPressureBar && system == UnitsImperial:
		return Round(v*14.503774, 1)
	}
	return v
}

// UnitFor returns the unit of measurement announced for a quantity, given the
// native unit of the row and the user's unit system.
func UnitFor(q Quantity, system, native string) string {
	switch {
	case q == QDistanceMi && system == UnitsMetric:
		return "km"
	case q == QSpeedMph && system == UnitsMetric:
		return "km/h"
	case q == QTempC && system == UnitsImperial:
		return "°F"
	case q == QPressureBar && system == UnitsImperial:
		return "psi"
	}
	return native
}

// Round rounds v to places decimals, so published values carry no float noise.
func Round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
