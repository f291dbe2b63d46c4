package clocktest

import (
	"testing"
	"time"
)

func TestStartMovesTheDateKeepsTheTime(t *testing.T) {
	def := time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)
	t.Setenv(EnvDate, "")
	if got := Start(def); !got.Equal(def) {
		t.Errorf("unset: %v", got)
	}
	t.Setenv(EnvDate, "2030-06-15")
	if got := Start(def); !got.Equal(time.Date(2030, 6, 15, 12, 30, 0, 0, time.UTC)) {
		t.Errorf("2030-06-15: %v", got)
	}
	t.Setenv(EnvDate, "15.6.2030")
	defer func() {
		if recover() == nil {
			t.Error("a malformed date did not stop the test run")
		}
	}()
	Start(def)
}
