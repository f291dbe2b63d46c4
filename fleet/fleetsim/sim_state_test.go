package fleetsim

import (
	"runtime"
	"testing"
	"time"
)

// TestSimStateLivesInTheSim: everything a Sim knows (logins, telemetry
// settings, hidden cars, protocol sessions) belongs to that Sim, so two
// simulators never see each other's state and a dropped one is freed. A
// long demo or soak run creates and drops simulators; package-level maps
// keyed by *Sim kept every one of them alive.
func TestSimStateLivesInTheSim(t *testing.T) {
	touch := func(s *Sim) {
		s.SetGrantedScopes([]string{"openid"})
		s.SetTelemetryCompat("5YJ3E1EA7PF000001", "unsupported_firmware")
		if err := s.HideVehicle("7SAYGDEE1PF000002"); err != nil {
			t.Fatal(err)
		}
		s.ResetVehicleSessions()
	}
	a, b := New(Options{}), New(Options{})
	touch(a)
	if b.authState != nil || b.telemetryState != nil || b.hiddenCars != nil || b.vcpState != nil {
		t.Fatal("a second simulator shares the first one's state")
	}
	if len(a.hidden()) != 1 || a.telemetry().compat["5YJ3E1EA7PF000001"] == "" {
		t.Fatal("the simulator lost its own state")
	}

	collected := make(chan struct{})
	func() {
		s := New(Options{})
		touch(s)
		runtime.AddCleanup(s, func(ch chan struct{}) { close(ch) }, collected)
	}()
	runtime.GC()
	select {
	case <-collected:
	case <-time.After(5 * time.Second): // a failure guard: the cleanup runs right after the collection
		t.Fatal("a dropped simulator was not freed: something outside it still holds it")
	}
}
