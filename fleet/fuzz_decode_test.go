package fleet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The Fleet API is untrusted input: every decoder of the client is fuzzed
// through the real request path (envelope, status classification, lenient
// decoding, size limit), with an in-memory transport answering the fuzzed
// status and body. The seeds in testdata/fuzz/<Name>/ are real fleetsim
// answers and odd shapes; `go test` replays them, `.ci/fuzz` explores.

// fuzzToken must never surface in an error: errors end up in log lines.
const fuzzToken = "fuzz-secret-access-token"

// fuzzTransport answers every request with one status and body.
type fuzzTransport struct {
	status int
	body   []byte
}

func (f fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: f.status, Header: http.Header{"Retry-After": {"17"}},
		Body: io.NopCloser(bytes.NewReader(f.body)), Request: r}, nil
}

// fuzzClient is a client whose every request gets status and body back.
func fuzzClient(t *testing.T, status int, body []byte) *Client {
	c, err := New(Options{BaseURL: "https://fleet-api.example", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fuzzToken}),
		HTTPClient: &http.Client{Transport: fuzzTransport{status: status, body: body}}, MaxBodyBytes: 64 << 10, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzStatus maps a fuzzed integer onto 200 most of the time, else any
// HTTP status, so both the decoders and the error classification are hit.
func fuzzStatus(s int) int {
	if s < 100 || s > 599 {
		return 200
	}
	return s
}

// checkDecoded is the invariant of every decoder: no panic (the fuzzer
// reports those), exactly one of a value and an error, an error that is
// classified (*APIError) and that does not carry the bearer token.
func checkDecoded(t *testing.T, status int, gotValue bool, err error) {
	t.Helper()
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("status %d: unclassified error %T: %v", status, err, err)
		}
		if strings.Contains(err.Error(), fuzzToken) {
			t.Fatalf("error leaks the access token: %v", err)
		}
		if status >= 200 && status <= 299 && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("a 2xx answer failed with %v, want ErrMalformed", err)
		}
		return
	}
	if status < 200 || status > 299 {
		t.Fatalf("status %d gave no error", status)
	}
	if !gotValue {
		t.Fatal("no error and no value")
	}
}

func FuzzVehicleData(f *testing.F) {
	f.Add(200, []byte(`{"response":{"vin":"5YJ3E1EA7PF000001","state":"online","charge_state":{"battery_level":80}}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		v, err := fuzzClient(t, status, body).VehicleData(context.Background(), "5YJ3E1EA7PF000001", nil)
		checkDecoded(t, status, v != nil, err)
	})
}

func FuzzVehicles(f *testing.F) {
	f.Add(200, []byte(`{"response":[{"id":1,"vin":"5YJ3E1EA7PF000001","state":"asleep"}],"count":1}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		_, err := fuzzClient(t, status, body).Vehicles(context.Background())
		checkDecoded(t, status, true, err) // an empty list is a value
		v, err := fuzzClient(t, status, body).Vehicle(context.Background(), "5YJ3E1EA7PF000001")
		checkDecoded(t, status, v != nil, err)
	})
}

func FuzzProducts(f *testing.F) {
	f.Add(200, []byte(`{"response":[{"vin":"5YJ3E1EA7PF000001"},{"energy_site_id":1000000001,"resource_type":"battery"}],"count":2}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		_, err := fuzzClient(t, status, body).Products(context.Background())
		checkDecoded(t, status, true, err)
	})
}

func FuzzLiveStatus(f *testing.F) {
	f.Add(200, []byte(`{"response":{"solar_power":3500,"battery_power":-1200,"percentage_charged":54.2,"grid_status":"Active"}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		v, err := fuzzClient(t, status, body).LiveStatus(context.Background(), 1000000001)
		checkDecoded(t, status, v != nil, err)
	})
}

func FuzzSiteInfo(f *testing.F) {
	f.Add(200, []byte(`{"response":{"id":"x","site_name":"Home","backup_reserve_percent":20,"default_real_mode":"self_consumption"}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		v, err := fuzzClient(t, status, body).SiteInfo(context.Background(), 1000000001)
		checkDecoded(t, status, v != nil, err)
	})
}

func FuzzCalendarHistory(f *testing.F) {
	f.Add(200, []byte(`{"response":{"serial_number":"x","time_series":[{"timestamp":"2026-01-01T00:00:00Z","solar_energy_exported":1.5}]}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		v, err := fuzzClient(t, status, body).CalendarHistory(context.Background(), 1000000001, HistoryQuery{Kind: "energy", Period: "day"})
		checkDecoded(t, status, v != nil, err)
	})
}

func FuzzFleetStatus(f *testing.F) {
	f.Add(200, []byte(`{"response":{"key_paired_vins":["5YJ3E1EA7PF000001"],"unpaired_vins":[],"vehicle_info":{}}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		v, err := fuzzClient(t, status, body).FleetStatus(context.Background(), []string{"5YJ3E1EA7PF000001"})
		checkDecoded(t, status, v != nil, err)
	})
}

func FuzzCommandResult(f *testing.F) {
	f.Add(200, []byte(`{"response":{"result":false,"reason":"already_set"}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = fuzzStatus(status)
		v, err := fuzzClient(t, status, body).Command(context.Background(), "5YJ3E1EA7PF000001", "set_charge_limit", map[string]any{"percent": 80})
		checkDecoded(t, status, v != nil, err)
		w, err := fuzzClient(t, status, body).WakeUp(context.Background(), "5YJ3E1EA7PF000001")
		checkDecoded(t, status, w != nil, err)
	})
}

// FuzzParseClaims feeds the JWT claim reader arbitrary access tokens: it
// must return claims or an error, never panic.
func FuzzParseClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2F1dGgudGVzbGEuY29tIiwic2NwIjpbIm9wZW5pZCJdLCJvdV9jb2RlIjoiTkEiLCJleHAiOjE3MDAwMDAwMDB9.c2ln")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := ParseClaims(tok)
		if (c == nil) == (err == nil) {
			t.Fatalf("ParseClaims(%q) = %v, %v: want exactly one", tok, c, err)
		}
		if c != nil {
			_ = c.Region()
		}
	})
}
