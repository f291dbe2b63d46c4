// Package clocktest gives tests their start time. Tests that do not depend
// on a particular calendar day start from Start(default); setting
// TESLA2MQTT_TEST_DATE=2030-06-15 moves all of them to that day (same time
// of day), so `TESLA2MQTT_TEST_DATE=2027-01-01 go test ./...` shows that
// the suite does not depend on the date it runs on. Calendar-edge tests
// (a DST night, a month end) pin their dates and do not use it.
package clocktest

import (
	"fmt"
	"os"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// EnvDate is the environment variable that moves the tests' start date.
const EnvDate = "TESLA2MQTT_TEST_DATE"

// Start returns def moved to the day in TESLA2MQTT_TEST_DATE (YYYY-MM-DD),
// keeping its time of day and location, or def when the variable is unset.
// A malformed value panics: a test run with a typo must not pass silently.
func Start(def time.Time) time.Time {
	v := os.Getenv(EnvDate)
	if v == "" {
		return def
	}
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: want YYYY-MM-DD: %v", EnvDate, v, err))
	}
	return time.Date(d.Year(), d.Month(), d.Day(), def.Hour(), def.Minute(), def.Second(), def.Nanosecond(), def.Location())
}

// Manual returns a Manual clock at Start(def).
func Manual(def time.Time) *clock.Manual { return clock.NewManual(Start(def)) }
