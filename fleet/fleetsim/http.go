package fleetsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// request is what a handler sees: the HTTP request plus everything the
// dispatcher already resolved.
type request struct {
	HTTP    *http.Request
	Vars    map[string]string // pattern variables ({tag}, {site_id}, {name}…)
	Body    []byte            // the request body (at most 1 MiB)
	Now     time.Time         // simulated time of this request
	Token   *tokenClaims      // the caller's token; nil on Public routes
	Vehicle *vehicleSim       // set when the pattern has {tag}
	Site    *siteSim          // set when the pattern has {site_id}
	BaseURL string            // scheme://host the request came in on
	// BLE marks a message that came over the simulated Bluetooth link
	// (ble.go) rather than signed_command: it is not metered, and reads
	// and commands count as the car's activity here instead of in the route.
	BLE bool
}

// response is what a handler returns. Body is JSON-encoded; Raw, when set,
// is sent verbatim as text/plain instead.
type response struct {
	Status int
	Body   any
	Raw    []byte
	Header http.Header
}

// ok wraps v in Tesla's success envelope {"response": v}.
func ok(v any) response {
	return response{Status: http.StatusOK, Body: map[string]any{"response": v}}
}

// okWith is ok with extra top-level keys (e.g. "count", "pagination").
func okWith(v any, extra map[string]any) response {
	body := map[string]any{"response": v}
	for k, x := range extra {
		body[k] = x
	}
	return response{Status: http.StatusOK, Body: body}
}

// apiError is Tesla's error envelope:
// {"response":null,"error":"<msg>","error_description":""}.
func apiError(status int, msg string) response {
	return response{Status: status, Body: map[string]any{
		"response": nil, "error": msg, "error_description": "",
	}}
}

func (r response) with(key, value string) response {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set(key, value)
	return r
}

// Tesla's error texts (FLEET_API §0, §3.2).
const (
	errAsleep        = "vehicle unavailable: vehicle is offline or asleep"
	errTokenExpired  = "token expired (401)"
	errInvalidToken  = "invalid bearer token"
	errMissingScopes = "Unauthorized missing scopes"
	errNotFound      = "not_found"
	errProtocol      = "Tesla Vehicle Command Protocol required, please refer to the documentation here: https://developer.tesla.com/docs/fleet-api/support/announcements#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning"
)

const maxBody = 1 << 20

// ServeHTTP implements http.Handler: route, inject faults, authenticate,
// advance the simulation to the clock's now, run the handler, count.
func (s *Sim) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	rt, vars, pathMatched := lookup(hr.Method, hr.URL.Path)
	if rt == nil {
		if pathMatched {
			writeResponse(w, apiError(http.StatusMethodNotAllowed, "method_not_allowed"), nil)
			return
		}
		writeResponse(w, apiError(http.StatusNotFound, errNotFound), nil)
		return
	}
	var body []byte
	if hr.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(hr.Body, maxBody))
	}
	if d := s.latency(rt.Endpoint); d > 0 {
		if s.wall.Sleep(hr.Context(), d) != nil {
			return // the client went away; nothing to answer, nothing to count
		}
	}
	req := &request{HTTP: hr, Vars: vars, Body: body, BaseURL: baseURL(hr)}

	s.mu.Lock()
	resp := s.serveLocked(rt, req)
	data := encode(resp)
	if s.faults.takeMalformed(rt.Endpoint) && len(data) > 1 {
		data = data[:len(data)/2]
	}
	s.countLocked(rt.Endpoint, resp.Status)
	s.mu.Unlock()

	writeResponse(w, resp, data)
}

func (s *Sim) serveLocked(rt *route, req *request) response {
	req.Now = s.clock.Now()
	if f, hit := s.faults.takeFail(rt.Endpoint); hit {
		return faultResponse(f, req)
	}
	if !rt.Public {
		claims, resp, good := s.authenticate(req.HTTP, req.Now)
		if !good {
			return resp
		}
		if !claims.hasAny(rt.Scopes) {
			return apiError(http.StatusForbidden, errMissingScopes)
		}
		req.Token = claims
		s.tokenUsed(claims)
		if resp, refused := s.accountRefusal(req); refused {
			return resp
		}
	}
	// Cars and sites evolve independently, so a request about one of them
	// advances only that one: with a generated fleet of thousands, advancing
	// everything on every request would make the simulator, not the client
	// under test, the cost a scale bench measures.
	_, hasTag := req.Vars["tag"]
	_, hasSite := req.Vars["site_id"]
	if !hasTag && !hasSite {
		s.advanceLocked(req.Now)
	}
	if tag, has := req.Vars["tag"]; has {
		if req.Vehicle = s.vehicleByTag(tag); req.Vehicle == nil {
			return apiError(http.StatusNotFound, errNotFound)
		}
		req.Vehicle.runScript(req.Now, s.opts.SleepAfter)
		req.Vehicle.advance(req.Now, s.opts.SleepAfter)
	}
	if raw, has := req.Vars["site_id"]; has {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return apiError(http.StatusBadRequest, "invalid_field")
		}
		if req.Site = s.siteByID(id); req.Site == nil {
			return apiError(http.StatusNotFound, errNotFound)
		}
		req.Site.advance(req.Now)
	}
	return rt.Handler(s, req)
}

func encode(r response) []byte {
	if r.Raw != nil {
		return r.Raw
	}
	data, err := json.Marshal(r.Body)
	if err != nil { // only possible with a NaN/Inf slipping into a body
		data, _ = json.Marshal(map[string]any{"response": nil, "error": "internal_error: " + err.Error(), "error_description": ""})
	}
	return data
}

func writeResponse(w http.ResponseWriter, r response, data []byte) {
	if data == nil {
		data = encode(r)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if r.Raw != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(r.Status)
	_, _ = w.Write(data)
}

// baseURL is scheme://host of the incoming request: users/region answers
// with it, so a client that follows it comes back to the simulator.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
