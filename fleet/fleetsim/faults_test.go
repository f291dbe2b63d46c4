package fleetsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestFailNext(t *testing.T) {
	e := newEnv(t)
	data := "/api/1/vehicles/" + vinRed + "/vehicle_data"
	e.sim.FailNext("vehicle_data", http.StatusTooManyRequests, 2)
	e.sim.FailNext("vehicle_data", http.StatusServiceUnavailable, 1)
	for i := 0; i < 2; i++ {
		r := e.get(data)
		r.wantError(t, http.StatusTooManyRequests, "Too Many Requests")
		if r.header.Get("Retry-After") != "30" {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	}
	e.get(data).wantError(t, http.StatusServiceUnavailable, "upstream internal error")
	e.get(data).want(t, http.StatusOK)
	// Other endpoints are not affected.
	e.sim.FailNext("vehicle_data", http.StatusRequestTimeout, 1)
	e.get("/api/1/vehicles").want(t, http.StatusOK)
	e.get(data).wantError(t, http.StatusRequestTimeout, errAsleep)

	// 421 points at this server; a fault comes before auth.
	e.sim.FailNext("users_region", http.StatusMisdirectedRequest, 1)
	r := e.call("GET", "/api/1/users/region", "", "")
	r.wantError(t, http.StatusMisdirectedRequest, "user out of region, use base URL: "+e.srv.URL)
	if r.header.Get("Alt-Svc") != "h2="+e.srv.URL {
		t.Errorf("Alt-Svc = %q", r.header.Get("Alt-Svc"))
	}

	// AnyEndpoint.
	e.sim.FailNext(AnyEndpoint, http.StatusBadGateway, 1)
	e.get("/api/1/products").wantError(t, http.StatusBadGateway, "bad_gateway")
	e.get("/api/1/products").want(t, http.StatusOK)

	// Counting: 429 and 408 are billable, 5xx are not.
	counts, billable := e.sim.Counts(), e.sim.Billable()
	if counts["vehicle_data"] != 5 || counts["users_region"] != 1 || counts["products"] != 2 {
		t.Errorf("counts = %v", counts)
	}
	// vehicle_data: 2×429, 200, 408 billable, 503 not; products: 200 yes, 502 not.
	if got, want := billable[fleet.CategoryData], 4+fleetDataOf("products"); got != want {
		t.Errorf("billable data = %d, want %d (%v)", got, want, billable)
	}
	e.sim.ClearFaults()
}

// fleetDataOf is 1 when the bridge meters endpoint as data.
func fleetDataOf(endpoint string) int {
	if fleet.CategoryOf(endpoint) == fleet.CategoryData {
		return 1
	}
	return 0
}

func TestMalformed(t *testing.T) {
	e := newEnv(t)
	e.sim.SetMalformed("live_status", 2)
	path := "/api/1/energy_sites/" + siteID + "/live_status"
	for i := 0; i < 2; i++ {
		r := e.get(path)
		var v any
		if r.status != 200 || json.Unmarshal(r.raw, &v) == nil || !strings.HasPrefix(string(r.raw), `{"response":`) {
			t.Fatalf("malformed #%d: %d %s", i, r.status, r.raw)
		}
	}
	e.get(path).want(t, http.StatusOK)
	e.sim.SetMalformed(AnyEndpoint, 1)
	if r := e.get("/api/1/vehicles"); r.body != nil {
		t.Fatalf("AnyEndpoint malformed = %s", r.raw)
	}
	e.get("/api/1/vehicles").want(t, http.StatusOK)
}

func TestLatencyHonoursContext(t *testing.T) {
	e := newEnv(t)
	e.sim.SetLatency("products", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r := e.callCtx(ctx, "GET", "/api/1/products", e.token, ""); r.status != -1 {
		t.Fatalf("status = %d, want a client error", r.status)
	}
	e.get("/api/1/vehicles").want(t, http.StatusOK)
	e.sim.SetLatency("products", 0)
	e.get("/api/1/products").want(t, http.StatusOK)
	if n := e.sim.Counts()["products"]; n != 1 {
		t.Errorf("products count = %d; the cancelled request must not count", n)
	}
}

func TestCountersAndBillable(t *testing.T) {
	e := newEnv(t)
	e.get("/api/1/products")
	e.get("/api/1/vehicles")
	e.get("/api/1/vehicles/" + vinRed)
	e.get("/api/1/vehicles/" + vinRed + "/vehicle_data")
	e.get("/api/1/vehicles/" + vinBlue + "/vehicle_data") // 408, billable
	e.post("/api/1/vehicles/"+vinBlue+"/wake_up", "")
	e.get("/api/1/energy_sites/" + siteID + "/live_status")
	e.get("/api/1/energy_sites/" + siteID + "/site_info")
	e.get("/api/1/users/region")
	e.get("/api/1/nowhere") // not counted
	want := map[string]int{"products": 1, "vehicles": 1, "vehicle": 1, "vehicle_data": 2, "wake_up": 1,
		"live_status": 1, "site_info": 1, "users_region": 1}
	got := e.sim.Counts()
	if len(got) != len(want) {
		t.Errorf("counts = %v", got)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("counts[%s] = %d, want %d", k, got[k], n)
		}
	}
	wantBill := map[fleet.Category]int{}
	for k, n := range want {
		wantBill[fleet.CategoryOf(k)] += n
	}
	if b := e.sim.Billable(); len(b) != len(wantBill) || b[fleet.CategoryWake] != 1 || b[fleet.CategoryData] != wantBill[fleet.CategoryData] ||
		b[fleet.CategoryFree] != wantBill[fleet.CategoryFree] {
		t.Errorf("billable = %v, want %v", b, wantBill)
	}
	e.sim.ResetCounts()
	if len(e.sim.Counts()) != 0 || len(e.sim.Billable()) != 0 {
		t.Error("ResetCounts did not reset")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	paths := []string{"/api/1/products", "/api/1/vehicles", "/api/1/vehicles/" + vinRed + "/vehicle_data",
		"/api/1/energy_sites/" + siteID + "/live_status", "/api/1/vehicles/" + vinBlue + "/vehicle_data"}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				p := paths[(i+j)%len(paths)]
				req, _ := http.NewRequest("GET", e.srv.URL+p, nil)
				req.Header.Set("Authorization", "Bearer "+e.token)
				if resp, err := e.srv.Client().Do(req); err == nil {
					resp.Body.Close()
				}
				switch j % 4 {
				case 0:
					e.clock.Advance(time.Minute)
				case 1:
					_ = e.sim.Snapshot(vinRed)
				case 2:
					e.sim.FailNext("vehicles", 503, 1)
				case 3:
					_ = e.sim.Update(vinBlue, func(v *VehicleSnapshot) { v.InsideTemp++ })
				}
			}
		}(i)
	}
	wg.Wait()
	total := 0
	for _, n := range e.sim.Counts() {
		total += n
	}
	if total != 160 {
		t.Errorf("total count = %d, want 160", total)
	}
	if vins := e.sim.VINs(); len(vins) != 2 || vins[0] != vinRed || vins[1] != vinBlue {
		t.Errorf("VINs = %v", vins)
	}
}

func TestDefaultOptions(t *testing.T) {
	if sim := New(Options{}); sim.Now().IsZero() || sim.VehicleState(vinRed) != "online" {
		t.Fatal("default options")
	}
}
