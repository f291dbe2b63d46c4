package fleetsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Handlers of the read endpoints. Each runs with Sim.mu held and the
// simulation advanced to r.Now (see routes.go).

func handleStatus(_ *Sim, _ *request) response {
	return response{Status: http.StatusOK, Raw: []byte("ok")}
}

func handleRegion(s *Sim, r *request) response {
	return ok(map[string]any{
		"region":             strings.ToLower(s.opts.Region),
		"fleet_api_base_url": r.BaseURL,
	})
}

func handleProducts(s *Sim, _ *request) response {
	items := make([]any, 0, len(s.vehicles)+len(s.sites))
	for _, v := range s.vehicles {
		items = append(items, v.summary())
	}
	for _, st := range s.sites {
		items = append(items, st.product())
	}
	return okWith(items, map[string]any{"count": len(items)})
}

// handleVehicles pages through the cars (page from 1, per_page default 100).
func handleVehicles(s *Sim, r *request) response {
	q := r.HTTP.URL.Query()
	page, err1 := positiveParam(q.Get("page"), 1)
	perPage, err2 := positiveParam(q.Get("per_page"), 100)
	if err1 != nil || err2 != nil {
		return apiError(http.StatusBadRequest, "invalid_field")
	}
	total := len(s.vehicles)
	items := []any{}
	if start := (page - 1) * perPage; start < total && start >= 0 {
		end := min(start+perPage, total)
		for _, v := range s.vehicles[start:end] {
			items = append(items, v.summary())
		}
	}
	pages := (total + perPage - 1) / perPage
	var prev, next any
	if page > 1 {
		prev = page - 1
	}
	if page < pages {
		next = page + 1
	}
	return okWith(items, map[string]any{
		"count": total,
		"pagination": map[string]any{
			"previous": prev, "next": next, "current": page, "per_page": perPage,
			"count": total, "pages": pages,
		},
	})
}

func positiveParam(raw string, def int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, strconv.ErrRange
	}
	return n, nil
}

// handleVehicle reads the state without waking the car.
func handleVehicle(_ *Sim, r *request) response {
	return ok(r.Vehicle.summary())
}

// handleVehicleData answers 408 unless the car is online; a successful read
// keeps the car awake. Blocks follow the endpoints= list (default bundle
// without location when absent).
func handleVehicleData(_ *Sim, r *request) response {
	v := r.Vehicle
	if !v.online() {
		return apiError(http.StatusRequestTimeout, errAsleep)
	}
	v.touchRead(r.Now)
	blocks := parseEndpoints(rawQueryValue(r.HTTP.URL.RawQuery, "endpoints"))
	return ok(v.vehicleData(r.Now, blocks, r.Token.has(scopeVehicleLocation)))
}

// rawQueryValue returns the first value of key, splitting the query on "&"
// only: Tesla takes a literal ";" inside endpoints=, which url.ParseQuery
// would reject.
func rawQueryValue(rawQuery, key string) string {
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			continue
		}
		if u, err := url.QueryUnescape(v); err == nil {
			return u
		}
		return v
	}
	return ""
}

// parseEndpoints splits the endpoints= list (";"-separated; "," accepted).
// Unknown names are ignored; no list or vehicle_data_combo means the
// default bundle.
func parseEndpoints(raw string) map[string]bool {
	set := map[string]bool{}
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == ';' || r == ',' }) {
		part = strings.TrimSpace(part)
		if part == "vehicle_data_combo" {
			for _, b := range defaultBlocks {
				set[b] = true
			}
			continue
		}
		if part != "" {
			set[part] = true
		}
	}
	if len(set) == 0 {
		for _, b := range defaultBlocks {
			set[b] = true
		}
	}
	return set
}

// handleWakeUp starts waking an asleep car and returns the vehicle object,
// whose state is still "asleep" until WakeDelay of simulated time passed.
func handleWakeUp(s *Sim, r *request) response {
	r.Vehicle.wake(r.Now, s.opts.WakeDelay)
	return ok(r.Vehicle.summary())
}

func handleLiveStatus(_ *Sim, r *request) response {
	return ok(r.Site.liveStatus(r.Now))
}

func handleSiteInfo(_ *Sim, r *request) response {
	return ok(r.Site.siteInfo())
}
