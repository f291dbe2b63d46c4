package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

const (
	testVIN   = "5YJ3E7EB2NF000001"
	testToken = "tok-secret-123"
)

// Fixtures in the shapes of FLEET_API.md §3.1 and §5, written for these tests.
const (
	vehicleDataFixture = `{"response":{
	"id":1000001,"user_id":42,"vehicle_id":2000001,"vin":"5YJ3E7EB2NF000001","display_name":"Red",
	"state":"online","access_type":"OWNER","api_version":71,"in_service":false,
	"charge_state":{"battery_level":80,"usable_battery_level":79,"battery_range":215.5,
		"charging_state":null,"charge_limit_soc":90,"charger_power":0,"charge_port_door_open":false,
		"conn_charge_cable":"<invalid>","fast_charger_present":false,"timestamp":1700000000000},
	"climate_state":{"inside_temp":21.5,"outside_temp":null,"is_climate_on":false,"seat_heater_left":0},
	"vehicle_state":{"car_version":"2024.2.7 abcdef","odometer":12345.6,"locked":true,"df":0,
		"tpms_pressure_fl":2.9,"software_update":{"status":"","version":" ","download_perc":0},
		"vehicle_name":"Red","media_info":{"now_playing_source":"Spotify"}},
	"gui_settings":{"gui_distance_units":"km/hr","gui_temperature_units":"C","gui_24_hour_time":true}
},"error":null,"error_description":""}`

	productsFixture = `{"response":[
	{"id":1000001,"vehicle_id":2000001,"vin":"5YJ3E7EB2NF000001","display_name":"Red","state":"asleep",
	 "command_signing":"allowed","vehicle_config":{"car_type":"model3"}},
	{"energy_site_id":123456789,"resource_type":"battery","site_name":"Home","gateway_id":"GW1",
	 "percentage_charged":55.5,"energy_left":7400,"components":{"battery":true,"solar":true,"grid":true,
	 "load_meter":true,"wall_connectors":[{"device_id":"wc1","din":"1529455-02--PGT123","part_name":"Gen 3 Wall Connector"}]}},
	{"energy_site_id":987,"resource_type":"solar","site_name":null,"components":null}
],"count":3}`

	liveStatusFixture = `{"response":{"solar_power":3500,"percentage_charged":55.5,"battery_power":-1200,
	"load_power":1800,"grid_status":"Active","grid_services_active":false,"grid_power":-500,
	"grid_services_power":0,"generator_power":0,"island_status":"on_grid","storm_mode_active":false,
	"timestamp":"2024-01-01T12:00:00+01:00","wall_connectors":[
	  {"din":"1529455-02--PGT123","vin":null,"wall_connector_state":2,"wall_connector_fault_state":2,"wall_connector_power":0}]}}`

	siteInfoFixture = `{"response":{"id":"STE2023-0001","site_name":"Home","backup_reserve_percent":20,
	"default_real_mode":"self_consumption","installation_date":"2023-01-01T00:00:00+01:00",
	"installation_time_zone":"","user_settings":{"storm_mode_enabled":true},
	"components":{"solar":true,"battery":true,"grid":true,"backup":true,"gateway":"teg","tou_capable":true,
	  "customer_preferred_export_rule":"battery_ok","batteries":[{"part_name":"Powerwall 2","nameplate_energy":13500}]},
	"version":"24.4.0","battery_count":1,"nameplate_power":5000,"nameplate_energy":13500,
	"tou_settings":{"optimization_strategy":"economics","schedule":[]}}}`

	calendarFixture = `{"response":{"period":"day","installation_time_zone":"Europe/Berlin","time_series":[
	{"timestamp":"2024-01-01T00:00:00+01:00","solar_energy_exported":12000.5,"grid_energy_imported":3000,
	 "battery_energy_exported":4000,"consumer_energy_imported_from_grid":2500,"total_home_usage":9000},
	{"timestamp":"2024-01-01T01:00:00+01:00","solar_energy_exported":0,"grid_energy_imported":null}]}}`

	fleetStatusFixture = `{"response":{"key_paired_vins":["5YJ3E7EB2NF000001"],"unpaired_vins":["5YJ3E7EB2NF000002"],
	"vehicle_info":{
	  "5YJ3E7EB2NF000001":{"vehicle_command_protocol_required":true,"firmware_version":"2024.2.7","total_number_of_keys":5,"fleet_telemetry_version":"1.0.0"},
	  "5YJ3E7EB2NF000002":{"vehicle_command_protocol_required":false,"firmware_version":"2023.44","total_number_of_keys":null}}}}`

	asleepBody = `{"response":null,"error":"vehicle unavailable: vehicle is offline or asleep","error_description":""}`
)

// captured is what the fake server saw of one request.
type captured struct {
	Method, Path, RawQuery, Auth, Accept, ContentType, UserAgent string
	Body                                                         string
}

// fakeFleet is an httptest server routing by path, recording requests.
type fakeFleet struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []captured
}

func newFakeFleet(t *testing.T, routes map[string]http.HandlerFunc) *fakeFleet {
	t.Helper()
	f := &fakeFleet{}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, captured{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"),
			r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), string(b)})
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFleet) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]captured(nil), f.reqs...)
}

func (f *fakeFleet) last(t *testing.T) captured {
	t.Helper()
	r := f.requests()
	if len(r) == 0 {
		t.Fatal("no request reached the server")
	}
	return r[len(r)-1]
}

// serve answers with a fixed status, body and headers.
func serve(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Add(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// recorder keeps every metered request.
type recorder struct {
	mu   sync.Mutex
	reqs []fleet.Request
}

func (r *recorder) Record(q fleet.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, q)
	r.mu.Unlock()
}

func (r *recorder) all() []fleet.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fleet.Request(nil), r.reqs...)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testEnv struct {
	c   *fleet.Client
	rec *recorder
	log *syncBuffer
}

func newTestClient(t *testing.T, baseURL string, tweak ...func(*fleet.Options)) testEnv {
	t.Helper()
	env := testEnv{rec: &recorder{}, log: &syncBuffer{}}
	opts := fleet.Options{
		BaseURL:     baseURL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken}),
		Recorder:    env.rec,
		UserAgent:   "tesla2mqtt-test/1",
		Logger:      zerolog.New(env.log).Level(zerolog.DebugLevel),
	}
	for _, f := range tweak {
		f(&opts)
	}
	c, err := fleet.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.c = c
	return env
}

func TestNewValidatesOptions(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for _, o := range []fleet.Options{
		{TokenSource: ts},
		{BaseURL: fleet.BaseURLNA},
		{BaseURL: "ftp://fleet.example", TokenSource: ts},
		{BaseURL: "fleet-api.prd.na.vn.cloud.tesla.com", TokenSource: ts},
	} {
		if _, err := fleet.New(o); err == nil {
			t.Errorf("New(%q) succeeded, want error", o.BaseURL)
		}
	}
	c, err := fleet.New(fleet.Options{BaseURL: fleet.BaseURLEU + "/", TokenSource: ts})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != fleet.BaseURLEU {
		t.Errorf("BaseURL() = %q, want trailing slash trimmed", c.BaseURL())
	}
}

func TestVehicleDataDecodingAndRequest(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"GET /api/1/vehicles/{vin}/vehicle_data": serve(200, vehicleDataFixture),
	})
	env := newTestClient(t, f.URL)
	d, err := env.c.VehicleData(context.Background(), testVIN,
		[]fleet.Endpoint{fleet.ChargeState, fleet.ClimateState, fleet.LocationData})
	if err != nil {
		t.Fatalf("VehicleData: %v", err)
	}
	if d.VIN != testVIN || d.State != fleet.StateOnline || d.VehicleID != 2000001 {
		t.Errorf("top level = %+v", d)
	}
	if d.Charge == nil || d.Charge.BatteryLevel == nil || *d.Charge.BatteryLevel != 80 {
		t.Fatalf("charge_state.battery_level not decoded: %+v", d.Charge)
	}
	if d.Charge.ChargingState != nil {
		t.Errorf("null charging_state should stay nil, got %q", *d.Charge.ChargingState)
	}
	if d.Charge.ChargerPower == nil || *d.Charge.ChargerPower != 0 {
		t.Errorf("charger_power 0 must be a non-nil zero")
	}
	if d.Charge.EnergyRemaining != nil {
		t.Errorf("absent energy_remaining should be nil")
	}
	if d.Climate.OutsideTemp != nil || *d.Climate.InsideTemp != 21.5 {
		t.Errorf("climate = %+v", d.Climate)
	}
	if d.Drive != nil || d.Config != nil {
		t.Errorf("absent blocks must be nil: drive=%v config=%v", d.Drive, d.Config)
	}
	if d.Vehicle.SoftwareUpdate == nil || *d.Vehicle.SoftwareUpdate.Version != " " || *d.Vehicle.Odometer != 12345.6 {
		t.Errorf("vehicle_state = %+v", d.Vehicle)
	}
	if d.GUI == nil || *d.GUI.DistanceUnits != "km/hr" || !*d.GUI.Hour24 {
		t.Errorf("gui_settings = %+v", d.GUI)
	}

	r := f.last(t)
	if r.RawQuery != "endpoints=charge_state%3Bclimate_state%3Blocation_data" {
		t.Errorf("query = %q", r.RawQuery)
	}
	if r.Auth != "Bearer "+testToken || r.Accept != "application/json" || r.UserAgent != "tesla2mqtt-test/1" {
		t.Errorf("headers: auth=%q accept=%q ua=%q", r.Auth, r.Accept, r.UserAgent)
	}
	if r.Method != http.MethodGet || r.ContentType != "" || r.Path != "/api/1/vehicles/"+testVIN+"/vehicle_data" {
		t.Errorf("request = %+v", r)
	}

	m := env.rec.all()
	if len(m) != 1 {
		t.Fatalf("metered %d requests, want 1", len(m))
	}
	if m[0].Endpoint != "vehicle_data" || m[0].Category != fleet.CategoryData || m[0].Status != 200 ||
		m[0].Device != testVIN || !m[0].Billable() || m[0].At.IsZero() {
		t.Errorf("meter = %+v", m[0])
	}

	logs := env.log.String()
	if !strings.Contains(logs, `"endpoint":"vehicle_data"`) || !strings.Contains(logs, `"status":200`) {
		t.Errorf("debug line missing: %s", logs)
	}
	for _, secret := range []string{testToken, "endpoints=", "charge_state%3B", "battery_level"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log leaks %q: %s", secret, logs)
		}
	}
}

func TestVehicleDataWithoutEndpointsOmitsQuery(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"GET /api/1/vehicles/{vin}/vehicle_data": serve(200, vehicleDataFixture),
	})
	env := newTestClient(t, f.URL)
	if _, err := env.c.VehicleData(context.Background(), testVIN, nil); err != nil {
		t.Fatal(err)
	}
	if q := f.last(t).RawQuery; q != "" {
		t.Errorf("query = %q, want none", q)
	}
}

func TestProductsAndEnergyReads(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"GET /api/1/products":                           serve(200, productsFixture),
		"GET /api/1/energy_sites/{id}/live_status":      serve(200, liveStatusFixture),
		"GET /api/1/energy_sites/{id}/site_info":        serve(200, siteInfoFixture),
		"GET /api/1/energy_sites/{id}/calendar_history": serve(200, calendarFixture),
	})
	env := newTestClient(t, f.URL)
	ctx := context.Background()

	ps, err := env.c.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || !ps[0].IsVehicle() || !ps[1].IsEnergySite() || ps[1].EnergySiteID != 123456789 {
		t.Fatalf("products = %+v", ps)
	}
	if c := ps[1].Components; c == nil || !*c.Battery || len(c.WallConnectors) != 1 || c.WallConnectors[0].DIN == "" {
		t.Errorf("components = %+v", ps[1].Components)
	}
	if ps[2].Components != nil || ps[2].PercentageCharged != nil {
		t.Errorf("null components / absent percentage must be nil: %+v", ps[2])
	}

	ls, err := env.c.LiveStatus(ctx, 123456789)
	if err != nil {
		t.Fatal(err)
	}
	if *ls.SolarPower != 3500 || *ls.GridPower != -500 || ls.EnergyLeft != nil || ls.TotalPackEnergy != nil ||
		*ls.GridStatus != "Active" || len(ls.WallConnectors) != 1 || ls.WallConnectors[0].VIN != nil {
		t.Errorf("live_status = %+v", ls)
	}
	if r := f.last(t); r.Path != "/api/1/energy_sites/123456789/live_status" {
		t.Errorf("path = %q", r.Path)
	}

	si, err := env.c.SiteInfo(ctx, 123456789)
	if err != nil {
		t.Fatal(err)
	}
	if si.ID != "STE2023-0001" || *si.BackupReservePercent != 20 || *si.InstallationTimeZone != "" ||
		!*si.UserSettings.StormModeEnabled || *si.Components.Gateway != "teg" || si.VPPBackupReservePercent != nil {
		t.Errorf("site_info = %+v", si)
	}

	loc := time.FixedZone("CET", 3600)
	h, err := env.c.CalendarHistory(ctx, 123456789, fleet.HistoryQuery{
		Period: fleet.PeriodDay, TimeZone: "Europe/Berlin",
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, loc), End: time.Date(2024, 1, 1, 23, 59, 59, 0, loc),
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Period != "day" || len(h.TimeSeries) != 2 || *h.TimeSeries[0].SolarEnergyExported != 12000.5 ||
		h.TimeSeries[0].TotalSolarGeneration != nil || h.TimeSeries[1].GridEnergyImported != nil {
		t.Errorf("calendar_history = %+v", h)
	}
	want := "end_date=2024-01-01T23%3A59%3A59%2B01%3A00&kind=energy&period=day&" +
		"start_date=2024-01-01T00%3A00%3A00%2B01%3A00&time_zone=Europe%2FBerlin"
	if q := f.last(t).RawQuery; q != want {
		t.Errorf("calendar query = %q\nwant %q", q, want)
	}

	got := map[string]fleet.Category{}
	for _, m := range env.rec.all() {
		got[m.Endpoint] = m.Category
		if m.Endpoint != "products" && m.Device != "123456789" {
			t.Errorf("%s metered device %q", m.Endpoint, m.Device)
		}
	}
	wantCat := map[string]fleet.Category{"products": fleet.CategoryFree, "live_status": fleet.CategoryData,
		"site_info": fleet.CategoryData, "calendar_history": fleet.CategoryData}
	for k, v := range wantCat {
		if got[k] != v {
			t.Errorf("meter %s category = %q, want %q", k, got[k], v)
		}
	}
}

func TestVehicleWakeUpAndRegion(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"GET /api/1/vehicles/{vin}":          serve(200, `{"response":{"id":1,"vin":"`+testVIN+`","state":"asleep","in_service":null,"api_version":null}}`),
		"POST /api/1/vehicles/{vin}/wake_up": serve(200, `{"response":{"id":1,"vin":"`+testVIN+`","state":"asleep"}}`),
		"GET /api/1/users/region":            serve(200, `{"response":{"region":"eu","fleet_api_base_url":"https://fleet-api.prd.eu.vn.cloud.tesla.com"}}`),
	})
	env := newTestClient(t, f.URL)
	ctx := context.Background()
	v, err := env.c.Vehicle(ctx, testVIN)
	if err != nil || v.State != fleet.StateAsleep || v.InService != nil || v.APIVersion != nil {
		t.Fatalf("Vehicle = %+v, %v", v, err)
	}
	w, err := env.c.WakeUp(ctx, testVIN)
	if err != nil || w.VIN != testVIN {
		t.Fatalf("WakeUp = %+v, %v", w, err)
	}
	if r := f.last(t); r.Method != http.MethodPost || r.ContentType != "application/json" || r.Body != "{}" {
		t.Errorf("wake_up request = %+v", r)
	}
	reg, err := env.c.UserRegion(ctx)
	if err != nil || reg.Region != "eu" || reg.FleetAPIBaseURL != fleet.BaseURLEU {
		t.Fatalf("UserRegion = %+v, %v", reg, err)
	}
	if _, err := env.c.Vehicle(ctx, ""); err == nil {
		t.Error("empty VIN accepted")
	}

	var got []string
	for _, m := range env.rec.all() {
		got = append(got, m.Endpoint+"/"+string(m.Category))
	}
	want := "vehicle/free wake_up/wake users_region/free"
	if strings.Join(got, " ") != want {
		t.Errorf("metered %v, want %s", got, want)
	}
}

func TestCommandAndFleetStatus(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"POST /api/1/vehicles/{vin}/command/set_charge_limit": serve(200, `{"response":{"result":false,"reason":"already_set"}}`),
		"POST /api/1/vehicles/{vin}/command/door_lock":        serve(200, `{"response":{"result":true,"reason":""}}`),
		"POST /api/1/vehicles/fleet_status":                   serve(200, fleetStatusFixture),
		"POST /api/1/energy_sites/{id}/backup":                serve(200, `{"response":{"code":201,"message":"Updated"}}`),
		"POST /api/1/energy_sites/{id}/storm_mode":            serve(http.StatusNoContent, ``),
	})
	env := newTestClient(t, f.URL)
	ctx := context.Background()

	res, err := env.c.Command(ctx, testVIN, "set_charge_limit", map[string]any{"percent": 80})
	if err != nil || res.Result || res.Reason != "already_set" {
		t.Fatalf("Command = %+v, %v", res, err)
	}
	if r := f.last(t); r.Body != `{"percent":80}` || r.ContentType != "application/json" {
		t.Errorf("command request = %+v", r)
	}
	if res, err := env.c.Command(ctx, testVIN, "door_lock", nil); err != nil || !res.Result {
		t.Fatalf("door_lock = %+v, %v", res, err)
	}
	if r := f.last(t); r.Body != "{}" {
		t.Errorf("nil params sent %q, want {}", r.Body)
	}

	fs, err := env.c.FleetStatus(ctx, []string{testVIN, "5YJ3E7EB2NF000002"})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.last(t); r.Body != `{"vins":["`+testVIN+`","5YJ3E7EB2NF000002"]}` {
		t.Errorf("fleet_status body = %s", r.Body)
	}
	vi := fs.VehicleInfo[testVIN]
	if !fs.KeyPaired(testVIN) || fs.KeyPaired("5YJ3E7EB2NF000002") || !vi.VehicleCommandProtocolRequired ||
		vi.FirmwareVersion != "2024.2.7" || *vi.TotalNumberOfKeys != 5 || fs.VehicleInfo["5YJ3E7EB2NF000002"].TotalNumberOfKeys != nil {
		t.Errorf("fleet_status = %+v", fs)
	}

	if err := env.c.EnergyCommand(ctx, 42, "backup", map[string]any{"backup_reserve_percent": 30}); err != nil {
		t.Fatal(err)
	}
	if r := f.last(t); r.Path != "/api/1/energy_sites/42/backup" || r.Body != `{"backup_reserve_percent":30}` {
		t.Errorf("energy command request = %+v", r)
	}
	if err := env.c.EnergyCommand(ctx, 42, "storm_mode", map[string]any{"enabled": true}); err != nil {
		t.Errorf("204 energy command: %v", err)
	}

	var got []string
	for _, m := range env.rec.all() {
		got = append(got, m.Endpoint+"/"+string(m.Category)+"/"+m.Device)
	}
	want := "command/command/" + testVIN + " command/command/" + testVIN + " fleet_status/free/ " +
		"energy_command/command/42 energy_command/command/42"
	if strings.Join(got, " ") != want {
		t.Errorf("metered %v\nwant %s", got, want)
	}
}

func TestStatusClassification(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		want    error
		message string
	}{
		{"asleep", 408, asleepBody, fleet.ErrAsleep, "vehicle unavailable: vehicle is offline or asleep"},
		{"unauthorized no body", 401, ``, fleet.ErrUnauthorized, ""},
		{"unauthorized", 401, `{"response":null,"error":"invalid bearer token","error_description":""}`, fleet.ErrUnauthorized, "invalid bearer token"},
		{"payment", 402, `{"error":"payment required"}`, fleet.ErrExceededLimit, "payment required"},
		{"protocol", 403, `{"response":null,"error":"Tesla Vehicle Command Protocol required, please refer to the documentation here: https://developer.tesla.com/docs/fleet-api/support/announcements#2023-10-09","error_description":""}`, fleet.ErrProtocolRequired, ""},
		{"exceeded", 403, `{"response":null,"error":"EXCEEDED_LIMIT","error_description":"billing limit"}`, fleet.ErrExceededLimit, "EXCEEDED_LIMIT"},
		{"missing scopes", 403, `{"response":null,"error":"Unauthorized missing scopes","error_description":""}`, fleet.ErrMissingScopes, ""},
		{"invalid scope", 403, `{"error":"invalid_scope"}`, fleet.ErrMissingScopes, "invalid_scope"},
		{"forbidden", 403, `{"error":"unsupported vehicle"}`, fleet.ErrForbidden, "unsupported vehicle"},
		{"app disabled", 403, `{"response":null,"error":"application disabled","error_description":"billing"}`, fleet.ErrAppDisabled, "application disabled"},
		{"not found", 404, `{"response":null,"error":"not_found","error_description":""}`, fleet.ErrNotFound, "not_found"},
		{"not registered", 412, `{"error":"Account abc must be registered in the current region"}`, fleet.ErrNotRegistered, ""},
		{"bad request", 400, `{"response":{"result":false,"reason":"missing percent param"},"error":"","error_description":""}`, fleet.ErrBadRequest, "missing percent param"},
		{"unprocessable", 422, `{"error":"invalid_field","messages":{"percent":["must be a number"]}}`, fleet.ErrBadRequest, "invalid_field"},
		{"server", 500, `{"error":"internal error"}`, fleet.ErrServer, "internal error"},
		{"unavailable html", 503, `<html>oops</html>`, fleet.ErrServer, ""},
		{"device error", 540, ``, fleet.ErrServer, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFleet(t, map[string]http.HandlerFunc{
				"/api/1/vehicles/{vin}/vehicle_data": serve(tc.status, tc.body),
			})
			env := newTestClient(t, f.URL)
			_, err := env.c.VehicleData(context.Background(), testVIN, []fleet.Endpoint{fleet.ChargeState})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ae *fleet.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Endpoint != "vehicle_data" {
				t.Fatalf("APIError = %+v", ae)
			}
			if tc.message != "" && ae.Message != tc.message {
				t.Errorf("Message = %q, want %q", ae.Message, tc.message)
			}
			m := env.rec.all()
			if len(m) != 1 || m[0].Status != tc.status || m[0].Billable() != (tc.status < 500) {
				t.Errorf("meter = %+v", m)
			}
		})
	}
}

func TestMessageIsTrimmed(t *testing.T) {
	long := strings.Repeat("x", 1000)
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/users/region": serve(400, `{"error":"`+long+`"}`),
	})
	_, err := newTestClient(t, f.URL).c.UserRegion(context.Background())
	var ae *fleet.APIError
	if !errors.As(err, &ae) || len([]rune(ae.Message)) > 301 {
		t.Fatalf("message not trimmed: %d runes", len([]rune(ae.Message)))
	}
}

func TestRateLimitedRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		headers []string
		want    time.Duration
	}{
		{"seconds", []string{"Retry-After", "17"}, 17 * time.Second},
		{"http date", []string{"Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"date in the past", []string{"Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)}, time.Second},
		{"ratelimit-reset", []string{"RateLimit-Reset", "5"}, 5 * time.Second},
		{"garbage falls back", []string{"Retry-After", "soon", "RateLimit-Reset", "9"}, 9 * time.Second},
		{"absent", nil, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFleet(t, map[string]http.HandlerFunc{
				"/api/1/vehicles/{vin}/vehicle_data": serve(429, `{"response":null,"error":"rate limited"}`, tc.headers...),
			})
			env := newTestClient(t, f.URL, func(o *fleet.Options) { o.Clock = clock.NewManual(now) })
			_, err := env.c.VehicleData(context.Background(), testVIN, nil)
			if !errors.Is(err, fleet.ErrRateLimited) {
				t.Fatalf("err = %v", err)
			}
			if got := fleet.RetryAfterOf(err); got != tc.want {
				t.Errorf("RetryAfter = %v, want %v", got, tc.want)
			}
			if m := env.rec.all(); len(m) != 1 || m[0].Status != 429 || !m[0].Billable() || !m[0].At.Equal(now) {
				t.Errorf("meter = %+v", m)
			}
		})
	}
}

func TestWrongRegionBaseURL(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		headers []string
	}{
		{"body", `{"response":null,"error":"user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com, see https://developer.tesla.com/docs","error_description":""}`, nil},
		{"alt-svc quoted", `{"response":null,"error":"user out of region"}`, []string{"Alt-Svc", `h2="https://fleet-api.prd.eu.vn.cloud.tesla.com"`}},
		{"alt-svc plain", ``, []string{"Alt-Svc", `h3=":443"; ma=86400, h2=https://fleet-api.prd.eu.vn.cloud.tesla.com`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFleet(t, map[string]http.HandlerFunc{
				"/api/1/users/region": serve(421, tc.body, tc.headers...),
			})
			env := newTestClient(t, f.URL)
			_, err := env.c.UserRegion(context.Background())
			var ae *fleet.APIError
			if !errors.Is(err, fleet.ErrWrongRegion) || !errors.As(err, &ae) {
				t.Fatalf("err = %v", err)
			}
			if ae.BaseURL != fleet.BaseURLEU {
				t.Errorf("BaseURL = %q, want %q", ae.BaseURL, fleet.BaseURLEU)
			}
		})
	}
}

func TestSetBaseURLRedirectsLaterCalls(t *testing.T) {
	region := `{"response":{"region":"eu","fleet_api_base_url":"x"}}`
	a := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/users/region": serve(200, region)})
	b := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/users/region": serve(200, region)})
	env := newTestClient(t, a.URL)

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				env.c.SetBaseURL(b.URL + "/")
			}
			if _, err := env.c.UserRegion(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if env.c.BaseURL() != b.URL {
		t.Fatalf("BaseURL = %q, want %q", env.c.BaseURL(), b.URL)
	}
	before := len(b.requests())
	if _, err := env.c.UserRegion(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(b.requests()) != before+1 {
		t.Error("call after SetBaseURL did not reach the new host")
	}
}

func TestOversizedBody(t *testing.T) {
	big := `{"response":{"vin":"` + strings.Repeat("A", 4096) + `"}}`
	f := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/vehicles/{vin}": serve(200, big)})
	env := newTestClient(t, f.URL, func(o *fleet.Options) { o.MaxBodyBytes = 1024 })
	_, err := env.c.Vehicle(context.Background(), testVIN)
	if !errors.Is(err, fleet.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if m := env.rec.all(); len(m) != 1 || m[0].Status != 200 {
		t.Errorf("oversized response must still be metered: %+v", m)
	}
}

func TestMalformedResponses(t *testing.T) {
	cases := map[string]string{
		"truncated":          vehicleDataFixture[:len(vehicleDataFixture)/2],
		"not json":           `<html>ok</html>`,
		"empty":              ``,
		"null response":      `{"response":null}`,
		"missing response":   `{"count":0}`,
		"top-level wrong":    `{"response":"online"}`,
		"top-level an array": `{"response":[{"vin":"x"}]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/vehicles/{vin}/vehicle_data": serve(200, body)})
			d, err := newTestClient(t, f.URL).c.VehicleData(context.Background(), testVIN, nil)
			if !errors.Is(err, fleet.ErrMalformed) || d != nil {
				t.Fatalf("got %+v, %v; want ErrMalformed", d, err)
			}
		})
	}
}

func TestTypeDriftKeepsPartialResult(t *testing.T) {
	drift := `{"response":{"vin":"` + testVIN + `","state":"online","vehicle_id":"2000001",
		"charge_state":{"battery_level":"80","charger_power":7.2,"charging_state":"Charging","charge_port_door_open":"yes"},
		"climate_state":"unavailable",
		"vehicle_state":{"odometer":100,"software_update":{"version":2024}}}}`
	live := `{"response":{"solar_power":100,"wall_connectors":[
		{"din":"a","wall_connector_power":"11000"},{"din":"b","wall_connector_power":7000}]}}`
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/vehicles/{vin}/vehicle_data":   serve(200, drift),
		"/api/1/energy_sites/{id}/live_status": serve(200, live),
	})
	env := newTestClient(t, f.URL)
	d, err := env.c.VehicleData(context.Background(), testVIN, nil)
	if err != nil {
		t.Fatalf("type drift must not fail the call: %v", err)
	}
	if d.VIN != testVIN || d.VehicleID != 0 {
		t.Errorf("top level = %+v", d)
	}
	if d.Charge == nil || d.Charge.BatteryLevel != nil || d.Charge.ChargePortDoorOpen != nil {
		t.Errorf("drifted fields must stay nil, not zero: %+v", d.Charge)
	}
	if d.Charge.ChargerPower == nil || *d.Charge.ChargerPower != 7.2 || *d.Charge.ChargingState != "Charging" {
		t.Errorf("good fields lost: %+v", d.Charge)
	}
	if d.Climate != nil || d.Vehicle == nil || *d.Vehicle.Odometer != 100 || d.Vehicle.SoftwareUpdate.Version != nil {
		t.Errorf("climate=%+v vehicle=%+v", d.Climate, d.Vehicle)
	}
	logs := env.log.String()
	if n := strings.Count(logs, `"level":"warn"`); n != 1 {
		t.Errorf("want one warning line, got %d: %s", n, logs)
	}
	for _, want := range []string{"charge_state.battery_level", "climate_state", "vehicle_state.software_update.version", `"endpoint":"vehicle_data"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("warning lacks %q: %s", want, logs)
		}
	}

	ls, err := env.c.LiveStatus(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	wc := ls.WallConnectors
	if len(wc) != 2 || wc[0].Power != nil || wc[1].Power == nil || *wc[1].Power != 7000 || wc[0].DIN != "a" {
		t.Errorf("wall connectors = %+v", wc)
	}
}

func TestDeadlineIsErrTimeout(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/vehicles/{vin}/vehicle_data": func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // hang until the client gives up
		},
	})
	env := newTestClient(t, f.URL, func(o *fleet.Options) { o.Timeout = 50 * time.Millisecond })
	_, err := env.c.VehicleData(context.Background(), testVIN, nil)
	var ae *fleet.APIError
	if !errors.Is(err, fleet.ErrTimeout) || !errors.As(err, &ae) || ae.Status != 0 {
		t.Fatalf("err = %v, want ErrTimeout with status 0", err)
	}
	if m := env.rec.all(); len(m) != 1 || m[0].Status != 0 || m[0].Billable() || m[0].Endpoint != "vehicle_data" {
		t.Errorf("meter = %+v", m)
	}

	// A caller's own deadline is a timeout too.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now())
	defer cancel()
	if _, err := env.c.VehicleData(ctx, testVIN, nil); !errors.Is(err, fleet.ErrTimeout) {
		t.Errorf("expired parent context: %v", err)
	}
}

func TestNetworkErrorHidesURL(t *testing.T) {
	f := newFakeFleet(t, nil)
	url := f.URL
	f.Close()
	env := newTestClient(t, url)
	_, err := env.c.VehicleData(context.Background(), testVIN, []fleet.Endpoint{fleet.LocationData})
	if !errors.Is(err, fleet.ErrNetwork) || fleet.StatusOf(err) != 0 {
		t.Fatalf("err = %v, want ErrNetwork", err)
	}
	if strings.Contains(err.Error(), "endpoints=") || strings.Contains(err.Error(), url) {
		t.Errorf("error leaks the URL: %v", err)
	}
	if m := env.rec.all(); len(m) != 1 || m[0].Status != 0 {
		t.Errorf("meter = %+v", m)
	}
}

type failingTokens struct{}

func (failingTokens) Token() (*oauth2.Token, error) { return nil, errors.New("refresh refused") }

func TestTokenErrorIsWrappedAndNotMetered(t *testing.T) {
	f := newFakeFleet(t, nil)
	env := newTestClient(t, f.URL, func(o *fleet.Options) { o.TokenSource = failingTokens{} })
	_, err := env.c.Products(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refresh refused") {
		t.Fatalf("err = %v", err)
	}
	if len(env.rec.all()) != 0 || len(f.requests()) != 0 {
		t.Error("a token failure must neither reach the API nor be metered")
	}
}

func TestVehiclesPagination(t *testing.T) {
	cases := []struct{ total, wantPages int }{{0, 1}, {30, 1}, {230, 3}, {200, 3}, {100000, 50}}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.total), func(t *testing.T) {
			f := newFakeFleet(t, map[string]http.HandlerFunc{
				"GET /api/1/vehicles": func(w http.ResponseWriter, r *http.Request) {
					page, _ := strconv.Atoi(r.URL.Query().Get("page"))
					per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
					items := []map[string]any{}
					for i := (page - 1) * per; i < min(page*per, tc.total); i++ {
						items = append(items, map[string]any{"id": i, "vin": "VIN" + strconv.Itoa(i), "state": "asleep"})
					}
					json.NewEncoder(w).Encode(map[string]any{"response": items, "count": len(items)})
				},
			})
			env := newTestClient(t, f.URL)
			vs, err := env.c.Vehicles(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := min(tc.total, 50*100); len(vs) != want {
				t.Errorf("got %d vehicles, want %d", len(vs), want)
			}
			reqs := f.requests()
			if len(reqs) != tc.wantPages {
				t.Fatalf("fetched %d pages, want %d", len(reqs), tc.wantPages)
			}
			for i, r := range reqs {
				if want := "page=" + strconv.Itoa(i+1) + "&per_page=100"; r.RawQuery != want {
					t.Errorf("page %d query = %q", i+1, r.RawQuery)
				}
			}
			for _, m := range env.rec.all() {
				if m.Endpoint != "vehicles" || m.Category != fleet.CategoryFree || m.Device != "" {
					t.Errorf("meter = %+v", m)
				}
			}
		})
	}
}

func TestCategoryOf(t *testing.T) {
	want := map[string]fleet.Category{
		"products": fleet.CategoryFree, "vehicles": fleet.CategoryFree, "vehicle": fleet.CategoryFree,
		"vehicle_data": fleet.CategoryData, "wake_up": fleet.CategoryWake, "command": fleet.CategoryCommand,
		"command/door_lock": fleet.CategoryCommand, "signed_command": fleet.CategoryCommand,
		"fleet_status": fleet.CategoryFree, "users_region": fleet.CategoryFree, "live_status": fleet.CategoryData,
		"site_info": fleet.CategoryData, "calendar_history": fleet.CategoryData,
		"energy_command": fleet.CategoryCommand, "something_new": fleet.CategoryData,
	}
	for ep, c := range want {
		if got := fleet.CategoryOf(ep); got != c {
			t.Errorf("CategoryOf(%q) = %q, want %q", ep, got, c)
		}
	}
}

func TestTypeDriftInMapsAndIntegers(t *testing.T) {
	fs := `{"response":{"key_paired_vins":[],"unpaired_vins":[],"vehicle_info":{
		"VIN1":{"vehicle_command_protocol_required":true,"firmware_version":2024.2,"total_number_of_keys":3},
		"VIN2":{"vehicle_command_protocol_required":false,"firmware_version":"2023.44","total_number_of_keys":"many"}}}}`
	f := newFakeFleet(t, map[string]http.HandlerFunc{
		"/api/1/vehicles/fleet_status": serve(200, fs),
		"/api/1/vehicles/{vin}":        serve(200, `{"response":{"vin":"VIN1","state":"online","api_version":71.5,"in_service":false}}`),
	})
	env := newTestClient(t, f.URL)
	got, err := env.c.FleetStatus(context.Background(), []string{"VIN1", "VIN2"})
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := got.VehicleInfo["VIN1"], got.VehicleInfo["VIN2"]
	if !v1.VehicleCommandProtocolRequired || v1.FirmwareVersion != "" || *v1.TotalNumberOfKeys != 3 ||
		v2.FirmwareVersion != "2023.44" || v2.TotalNumberOfKeys != nil {
		t.Errorf("vehicle_info = %+v / %+v", v1, v2)
	}
	v, err := env.c.Vehicle(context.Background(), "VIN1")
	if err != nil || v.APIVersion != nil || v.InService == nil || v.State != "online" {
		t.Errorf("vehicle = %+v, %v", v, err)
	}
}

// ctxTokens records whether the client used the context-aware path.
type ctxTokens struct{ sawCtx bool }

func (c *ctxTokens) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "plain"}, nil }
func (c *ctxTokens) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.sawCtx = ctx != nil
	return &oauth2.Token{AccessToken: "ctx"}, nil
}

func TestContextAwareTokenSource(t *testing.T) {
	f := newFakeFleet(t, map[string]http.HandlerFunc{"/api/1/products": serve(200, `{"response":[]}`)})
	ts := &ctxTokens{}
	env := newTestClient(t, f.URL, func(o *fleet.Options) { o.TokenSource = ts })
	if _, err := env.c.Products(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !ts.sawCtx || f.last(t).Auth != "Bearer ctx" {
		t.Errorf("TokenContext not used: auth=%q", f.last(t).Auth)
	}
}
