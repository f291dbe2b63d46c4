package fleetsim

import (
	"net/http"
	"testing"
	"time"
)

// A hidden car is gone from products and the vehicle list and answers 404;
// shown again it is back in its old place and has lived on meanwhile (it
// charged while it was away).
func TestHideAndShowVehicle(t *testing.T) {
	e := newEnv(t)
	vins := func(path string) []string {
		t.Helper()
		r := e.get(path)
		r.want(t, http.StatusOK)
		items, _ := r.body["response"].([]any)
		var out []string
		for _, it := range items {
			if vin, ok := it.(map[string]any)["vin"].(string); ok {
				out = append(out, vin)
			}
		}
		return out
	}
	before := e.sim.Snapshot(vinRed).BatteryLevel
	if err := e.sim.HideVehicle(vinRed); err != nil {
		t.Fatal(err)
	}
	if got := vins("/api/1/products"); len(got) != 1 || got[0] != vinBlue {
		t.Fatalf("products while hidden = %v, want only %s", got, vinBlue)
	}
	if got := vins("/api/1/vehicles"); len(got) != 1 || got[0] != vinBlue {
		t.Fatalf("vehicles while hidden = %v", got)
	}
	e.get("/api/1/vehicles/"+vinRed+"/vehicle_data").want(t, http.StatusNotFound)
	if h := e.sim.HiddenVehicles(); len(h) != 1 || h[0] != vinRed {
		t.Fatalf("HiddenVehicles = %v", h)
	}
	if err := e.sim.HideVehicle("nope"); err == nil {
		t.Fatal("hiding an unknown car succeeded")
	}

	e.clock.Advance(30 * time.Minute)
	e.sim.ShowVehicle(vinRed)
	e.sim.ShowVehicle(vinRed) // a second show changes nothing
	if got := vins("/api/1/vehicles"); len(got) != 2 || got[0] != vinRed || got[1] != vinBlue {
		t.Fatalf("vehicles after the return = %v, want %s first again", got, vinRed)
	}
	e.get("/api/1/vehicles/"+vinRed+"/vehicle_data").want(t, http.StatusOK)
	if after := e.sim.Snapshot(vinRed).BatteryLevel; after <= before {
		t.Fatalf("battery %v → %v: the charging car did not live on while hidden", before, after)
	}
}
