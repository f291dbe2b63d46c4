package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt/broker"
)

// The simulated account's sites (fleetsim defaultSites) and the Wall
// Connector of the Powerwall site.
const (
	solarSiteID = "1000000002" // solar only, no battery
	pw3SiteID   = "1000000003" // Powerwall 3: no energy_left/total_pack_energy
	wcDevice    = siteID + "-wc-1"
	wcUID       = "1457768_02_G__TEST0001"
)

// startSiteE2E is startE2E on a broker of the test's own, plus a client
// that publishes set messages.
func startSiteE2E(t *testing.T) (*e2e, *mqtt.Client) {
	t.Helper()
	b := broker.New(broker.Options{Addr: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	url := "tcp://" + b.Addr()
	e := startE2E(t, url, entityDiscovery)
	c := mqtt.New(mqtt.Options{URL: url, ClientID: "e2e-site-setter", Logger: zerolog.Nop()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return e, c
}

func TestEndToEndEnergySites(t *testing.T) {
	buildVersion = "test"
	e, setter := startSiteE2E(t)

	// Powerwall: live values, settings and today's totals (12:00 UTC is
	// 13:00 in Berlin, so the sun has been up for hours).
	home := e.w.waitJSON(t, "tesla2mqtt/"+siteID, func(m map[string]any) bool {
		return m["solar_generated"] != nil && m["backup_reserve"] != nil
	})
	if home["energy_left"] == nil || home["operation_mode"] != "self_consumption" || home["export_rule"] != "pv_only" ||
		home["grid_charging"] != false || home["storm_watch"] != false || home["solar_generated"].(float64) < 1 {
		t.Errorf("Powerwall site state = %v", home)
	}
	// Solar only: no battery entity at all, not even a null one.
	cabin := e.w.waitJSON(t, "tesla2mqtt/"+solarSiteID, func(m map[string]any) bool { return m["solar_power"] != nil })
	for _, k := range []string{"battery_level", "backup_reserve", "operation_mode", "storm_watch", "export_rule",
		"grid_charging", "off_grid_vehicle_charging_reserve", "battery_charged"} {
		if _, has := cabin[k]; has {
			t.Errorf("solar-only site has %s", k)
		}
	}
	// Powerwall 3: battery controls, but no energy_left / total_pack_energy.
	barn := e.w.waitJSON(t, "tesla2mqtt/"+pw3SiteID, func(m map[string]any) bool { return m["battery_level"] != nil })
	if _, has := barn["energy_left"]; has || barn["operation_mode"] != "autonomous" {
		t.Errorf("Powerwall 3 site state = %v", barn)
	}
	wc := e.w.waitJSON(t, "tesla2mqtt/"+wcDevice, func(m map[string]any) bool { return m["power"] != nil })
	if wc["wall_connector_state"] != 2.0 || wc["power"] != 0.0 {
		t.Errorf("wall connector state = %v", wc)
	}

	compareGolden(t, e.w, "site_solar", "homeassistant/", "tesla2mqtt_"+solarSiteID+"_")
	compareGolden(t, e.w, "site_pw3", "homeassistant/", "tesla2mqtt_"+pw3SiteID+"_")
	compareGolden(t, e.w, "wallconnector", "homeassistant/", "tesla2mqtt_"+wcUID+"_")

	// Every control: set → fleetsim changes → one ok result → the state shows it.
	e.sim.ResetCounts()
	for i, c := range []struct {
		key, payload string
		want         any
		check        func(s fleetsim.SiteSnapshot) bool
	}{
		{"backup_reserve", "35", 35.0, func(s fleetsim.SiteSnapshot) bool { return s.BackupReservePercent == 35 }},
		{"operation_mode", `"autonomous"`, "autonomous", func(s fleetsim.SiteSnapshot) bool { return s.DefaultRealMode == "autonomous" }},
		{"storm_watch", `"ON"`, true, func(s fleetsim.SiteSnapshot) bool { return s.StormModeEnabled }},
		{"export_rule", `"never"`, "never", func(s fleetsim.SiteSnapshot) bool { return s.CustomerPreferredExportRule == "never" }},
		{"grid_charging", `"ON"`, true, func(s fleetsim.SiteSnapshot) bool { return !s.DisallowChargeFromGridWithSolar }},
		{"off_grid_vehicle_charging_reserve", "25", 25.0, func(s fleetsim.SiteSnapshot) bool { return s.OffGridVehicleChargingReservePercent == 25 }},
	} {
		tr := fmt.Sprintf("site-%d", i)
		payload := fmt.Sprintf(`{%q: %s, "transaction": %q}`, c.key, c.payload, tr)
		if err := setter.Publish("tesla2mqtt/"+siteID+"/set", []byte(payload), false); err != nil {
			t.Fatal(err)
		}
		res := e.w.waitJSON(t, "tesla2mqtt/"+siteID+"/result", func(m map[string]any) bool { return m["transaction"] == tr })
		if res["status"] != "ok" || res["key"] != c.key {
			t.Errorf("%s: result %v", c.key, res)
		}
		if s := e.sim.Site(1000000001); !c.check(s) {
			t.Errorf("%s: simulated site %+v", c.key, s)
		}
		e.w.waitJSON(t, "tesla2mqtt/"+siteID, func(m map[string]any) bool { return m[c.key] == c.want })
	}
	if n := e.sim.Counts()[fleet.CallEnergyCommand]; n != 6 {
		t.Errorf("%d energy commands reached fleetsim, want 6", n)
	}

	// The solar-only site offers no battery control: refused without a Fleet call.
	if err := setter.Publish("tesla2mqtt/"+solarSiteID+"/set",
		[]byte(`{"backup_reserve": 50, "transaction": "solar"}`), false); err != nil {
		t.Fatal(err)
	}
	res := e.w.waitJSON(t, "tesla2mqtt/"+solarSiteID+"/result", func(m map[string]any) bool { return m["transaction"] == "solar" })
	if res["status"] != "error" {
		t.Errorf("solar-only backup_reserve: %v", res)
	}
	if n := e.sim.Counts()[fleet.CallEnergyCommand]; n != 6 {
		t.Errorf("a refused set reached fleetsim (%d energy commands)", n)
	}
}
