package bridge

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func TestStatusSnapshot(t *testing.T) {
	meter := fleet.NewMeter()
	for i := 0; i < 10; i++ {
		meter.Record(fleet.Request{Endpoint: fleet.CallVehicleData, Category: fleet.CategoryData, Status: 200})
	}
	meter.Record(fleet.Request{Endpoint: fleet.CallWakeUp, Category: fleet.CategoryWake, Status: 200})
	meter.Record(fleet.Request{Endpoint: fleet.CallVehicles, Category: fleet.CategoryFree, Status: 200})
	meter.Record(fleet.Request{Endpoint: fleet.CallVehicleData, Category: fleet.CategoryData, Status: 503})
	b, _, _, _ := newTestBridge(t, func(o *Options) {
		o.Meter = meter
		o.Domain = "example.com"
		o.ClientID = "app"
		o.GrantedScopes = func() []string { return []string{"openid", "offline_access", "vehicle_device_data", "vehicle_cmds"} }
	})
	st := b.Status()
	if !st.Discovered || st.Version != "test" || st.PairingURL != "https://tesla.com/_ak/example.com" {
		t.Errorf("status header = %+v", st)
	}
	if st.AccountKnown {
		t.Error("no AccountStatus is attached, yet the account is reported as known")
	}
	var missing []string
	for _, m := range st.Account.MissingScopes {
		missing = append(missing, m.Scope)
	}
	if !strings.Contains(strings.Join(missing, " "), "vehicle_location") || st.Account.ConsentURL == "" {
		t.Errorf("missing scopes = %v, consent %q; want vehicle_location and a consent link", missing, st.Account.ConsentURL)
	}
	if len(st.Devices) != 2 {
		t.Fatalf("devices = %d, want the car and the site", len(st.Devices))
	}
	car := statusCar(st)
	if car.Kind != "vehicle" || car.FleetState != "online" || car.LastPoll.IsZero() || car.PairingURL != "https://tesla.com/_ak/example.com?vin="+testVIN {
		t.Errorf("car = %+v", car)
	}
	level := false
	for _, r := range car.Readings {
		level = level || r.Key == "battery_level" && r.Value == 62.0 && r.Unit == "%"
	}
	if !level {
		t.Errorf("the car's readings lack battery_level 62 %%: %+v", car.Readings)
	}
	// 10 data + 1 wake; the free call and the 503 cost nothing.
	if want := 10*0.002 + 0.02; math.Abs(st.Spend.EstimatedUSD-want) > 1e-9 || st.Spend.Billable["free"] != 0 {
		t.Errorf("spend = %+v, want $%.3f and no free category", st.Spend, want)
	}
}

func TestStatusShowsLastErrorAndResult(t *testing.T) {
	b, ff, pub, sched := newTestBridge(t, nil)
	ff.set(func() { ff.dataErr[testVIN] = errors.New("vehicle_data: 500 server error") })
	sched.Fire("vehicle_data_charging")
	pub.Send("t2m/"+testVIN+"/set/charge_limit", "75")
	pub.waitResult(t)
	car := statusCar(b.Status())
	if !strings.Contains(car.LastError, "500") {
		t.Errorf("car last error = %q, want the vehicle_data failure", car.LastError)
	}
	if car.LastResult == nil || car.LastResult.Key != "charge_limit" {
		t.Errorf("car last result = %+v, want the charge_limit command", car.LastResult)
	}
}

// statusCar returns the first car of a snapshot.
func statusCar(st contract.Status) contract.DeviceStatus {
	for _, d := range st.Devices {
		if d.Kind == "vehicle" {
			return d
		}
	}
	return contract.DeviceStatus{}
}
