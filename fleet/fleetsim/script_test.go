package fleetsim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// TestScriptedCarSleepsWhenLeftAlone drives the sleep model through a
// script: reads keep an idle car awake, the phone app and someone in the
// car keep it awake anyway, and it falls asleep SleepAfter after the last
// of them.
func TestScriptedCarSleepsWhenLeftAlone(t *testing.T) {
	start := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	sim := New(Options{Clock: clk, SleepAfter: 15 * time.Minute})
	vin := "5YJ3E1EA7PF000001"
	evs := append([]ScriptEvent{{At: 0, Apply: func(s *VehicleSnapshot) {
		s.State, s.ChargingState = fleet.StateAsleep, ChargingDisconnected
	}}}, ScriptPhoneApp(time.Hour, 20*time.Minute)...)
	evs = append(evs, ScriptDrive(3*time.Hour, 30*time.Minute, 40, 90)...)
	if err := sim.RunScript(vin, start, evs); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	token := sim.MintToken(allScopes, 48*time.Hour)
	read := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/1/vehicles/"+vin+"/vehicle_data", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	step := func(d time.Duration) string { clk.Advance(d); return sim.VehicleState(vin) }

	if s := step(59 * time.Minute); s != fleet.StateAsleep {
		t.Fatalf("before the app opens: %s", s)
	}
	if s := step(time.Minute); s != fleet.StateOnline {
		t.Fatalf("phone app opened: %s, want online", s)
	}
	// The app keeps it awake for its 20 minutes, and 15 more after.
	if s := step(34 * time.Minute); s != fleet.StateOnline {
		t.Fatalf("14 min after the app closed: %s", s)
	}
	// A read resets the timer.
	if code := read(); code != http.StatusOK {
		t.Fatalf("vehicle_data = %d", code)
	}
	if s := step(14 * time.Minute); s != fleet.StateOnline {
		t.Fatalf("14 min after a read: %s", s)
	}
	if s := step(time.Minute); s != fleet.StateAsleep {
		t.Fatalf("15 min after the read: %s, want asleep", s)
	}
	st := sim.SleepStats(vin)
	if st.Wakes != 1 || st.APIWakes != 0 || st.Sleeps != 1 || st.ExtraAwake != 14*time.Minute || st.MaxToSleep != 29*time.Minute {
		t.Errorf("stats after the app = %+v", st)
	}
	// The drive: the driver's minute wakes it, the car moves, and it sleeps
	// 15 minutes after the driver left.
	clk.Set(start.Add(3*time.Hour + 10*time.Minute))
	snap := sim.Snapshot(vin)
	if snap.State != fleet.StateOnline || snap.ShiftState != "D" || snap.Odometer <= 12345.6 {
		t.Fatalf("mid-drive snapshot = %+v", snap)
	}
	clk.Set(start.Add(3*time.Hour + 31*time.Minute + 15*time.Minute))
	if s := sim.VehicleState(vin); s != fleet.StateAsleep {
		t.Errorf("15 min after the driver left: %s", s)
	}
	if st := sim.SleepStats(vin); st.Wakes != 2 || st.ExtraAwake != 14*time.Minute {
		t.Errorf("stats after the drive = %+v", st)
	}
}
