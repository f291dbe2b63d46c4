package web

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/browsertest"
)

// These tests load the page in headless Chromium (internal/browsertest
// drives it over the DevTools protocol on a pipe). They skip without
// Chromium, except under CI=true.

var screenshot = flag.Bool("screenshot", false, "write the status page screenshots to docs/")

// saveShot writes a screenshot into docs/ when -screenshot is given.
func saveShot(t *testing.T, name string, png []byte) {
	t.Helper()
	if len(png) < 10_000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s: %d bytes", name, len(png))
	}
	if *screenshot {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// measure reports how wide the document is against the viewport, the
// overflow styles that could hide a too-wide page, and which elements
// stick out (for the failure message).
const measure = `(() => {
	const de = document.documentElement, cw = de.clientWidth, wide = [];
	for (const e of document.querySelectorAll("body *")) {
		const r = e.getBoundingClientRect();
		if (r.width > 0 && (r.right > cw + 0.5 || r.left < -0.5)) {
			wide.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " right=" + Math.round(r.right));
		}
	}
	return JSON.stringify({scrollWidth: de.scrollWidth, clientWidth: cw, bodyScrollWidth: document.body.scrollWidth,
		overflow: getComputedStyle(de).overflowX + "/" + getComputedStyle(document.body).overflowX, wide: wide.slice(0, 12)});
})()`

type measurement struct {
	ScrollWidth, ClientWidth, BodyScrollWidth float64
	Overflow                                  string
	Wide                                      []string
}

func measurePage(t *testing.T, p *browsertest.Page) measurement {
	t.Helper()
	var m measurement
	if err := json.Unmarshal([]byte(p.Eval(measure).(string)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// busyStatus is the sample with what makes a page wide: long names, a
// long error, a VIN as the name of a car Tesla has no name for, readings.
func busyStatus() contract.Status {
	st := sampleStatus()
	st.Devices[0].Readings = append(st.Devices[0].Readings,
		contract.Reading{Name: "Charging state", Value: "Charging"}, contract.Reading{Name: "Charge limit", Unit: "%", Value: 80.0},
		contract.Reading{Name: "Charger power", Unit: "kW", Value: 7.4}, contract.Reading{Name: "Range", Unit: "km", Value: 312.5})
	st.Devices = append(st.Devices, contract.DeviceStatus{Name: "LRWYGCEK3NC000003", Kind: "vehicle", ID: "LRWYGCEK3NC000003",
		Model: "Model Y", FleetState: "offline", LastPoll: testNow.Add(-26 * 3600e9),
		LastError: "vehicle_data: 408 vehicle unavailable: https://fleet-api.prd.eu.vn.cloud.tesla.com/api/1/vehicles/LRWYGCEK3NC000003/vehicle_data?endpoints=charge_state%3Bclimate_state"})
	st.Devices = append(st.Devices, contract.DeviceStatus{Name: "garage", Label: "Powerwall in the garage by the long driveway", Kind: "energy_site",
		ID: "1000000001", Model: "Powerwall", LastPoll: testNow.Add(-40e9),
		Readings: []contract.Reading{{Name: "Solar power", Unit: "kW", Value: 3.2}, {Name: "Battery power", Unit: "kW", Value: -1.1},
			{Name: "Grid power", Unit: "kW", Value: 0.4}, {Name: "Percentage charged", Unit: "%", Value: 87.0}},
		LastResult: &command.Result{Key: "backup_reserve", Status: "error", Error: &command.ResultError{Code: "budget_exhausted"}, At: "2026-11-29T10:02:00Z"}})
	st.Account.APIBaseURL = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
	expiry := "2026-11-29T19:00:00Z"
	st.Account.TokenExpiry = &expiry
	st.Spend = contract.Spend{Billable: map[string]int{"data": 612, "wake": 9, "command": 31}, EstimatedUSD: 1.49, BudgetUSD: 10,
		Month: "2026-11", ProjectedUSD: 1.6, Stretch: 1}
	return st
}

// TestStatusPageFitsAPhone: at 390 px wide the page must not scroll
// sideways (the devices become cards, long texts wrap), and at 1280 px
// the cards sit side by side. The screenshots in docs/ come from here.
func TestStatusPageFitsAPhone(t *testing.T) {
	b := browsertest.Start(t)
	ts := newTestServer(t, func(o *Options, u string) {
		o.Login = simLogin(t, u+"/auth/callback", nil)
		o.SpendDays = sampleDays
	})
	ts.src.set(busyStatus())
	for _, v := range []struct {
		w, h   int
		mobile bool
		file   string
	}{{390, 844, true, "status-page-phone.png"}, {1280, 900, false, "status-page-desktop.png"}} {
		p := b.NewPage(v.w, v.h, v.mobile)
		p.Navigate(ts.URL + "/")
		m := measurePage(t, p)
		if m.ClientWidth != float64(v.w) {
			t.Errorf("at %d px: the viewport is %v px wide", v.w, m.ClientWidth)
		}
		if m.ScrollWidth > m.ClientWidth || m.BodyScrollWidth > m.ClientWidth {
			t.Errorf("at %d px the page scrolls sideways: %v px of content (body %v) in %v px; too wide: %v",
				v.w, m.ScrollWidth, m.BodyScrollWidth, m.ClientWidth, m.Wide)
		}
		if m.Overflow != "visible/visible" {
			t.Errorf("overflow-x %s on html/body would hide a too-wide page instead of fixing it", m.Overflow)
		}
		if bg := p.Eval(`getComputedStyle(document.querySelector("body > header")).backgroundColor`); bg != "rgb(23, 26, 32)" {
			t.Errorf("the stylesheet is not applied: header background %v", bg)
		}
		chart := p.Eval(`document.querySelector("#spend-chart svg").getBoundingClientRect().width`).(float64)
		if chart < 300 || chart > m.ClientWidth {
			t.Errorf("at %d px the spend chart is %v px wide", v.w, chart)
		}
		side := p.Eval(`(() => { const c = document.querySelectorAll("#cars .device"); return c[1].getBoundingClientRect().top === c[0].getBoundingClientRect().top; })()`)
		if want := !v.mobile; side != want {
			t.Errorf("at %d px two car cards side by side = %v, want %v", v.w, side, want)
		}
		text := p.Eval("document.body.innerText").(string)
		for _, want := range []string{"Red Three", "Powerwall in the garage by the long driveway", "Sun 29 Nov 20:00 CET", "Sun 29 Nov 11:02 CET", "budget_exhausted"} {
			if !strings.Contains(text, want) {
				t.Errorf("at %d px the page does not show %q", v.w, want)
			}
		}
		saveShot(t, v.file, p.Screenshot())
	}
}

// TestStatusPageRefreshesItself: the open page picks up a new state, and
// says so when the bridge stops answering, without a reload.
func TestStatusPageRefreshesItself(t *testing.T) {
	b := browsertest.Start(t)
	ts := newTestServer(t, nil)
	p := b.NewPage(390, 844, true)
	p.Navigate(ts.URL + "/")
	st := sampleStatus()
	st.Devices[0].Readings[0].Value = 71.0
	ts.src.set(st)
	// Becoming visible refreshes at once, as the timer does every 15 s.
	const refreshed = `new Promise((resolve) => {
		const main = document.querySelector("main");
		new MutationObserver(() => resolve(main.innerText)).observe(main, {childList: true});
		document.dispatchEvent(new Event("visibilitychange"));
	})`
	if text := p.Eval(refreshed).(string); !strings.Contains(text, "71 %") {
		t.Errorf("after a refresh the page shows:\n%s", text)
	}
	ts.Close()
	const stale = `new Promise((resolve) => {
		new MutationObserver(() => resolve(getComputedStyle(document.querySelector("main"), "::before").content)).observe(document.body, {attributes: true});
		document.dispatchEvent(new Event("visibilitychange"));
	})`
	if banner := p.Eval(stale).(string); !strings.Contains(banner, "does not answer") {
		t.Errorf("with the bridge gone the page says %q", banner)
	}
}

// clickInFrame clicks in Home Assistant's frame and resolves with the
// frame's text once the page the click leads to has loaded there.
func clickInFrame(selector string) string {
	sel, _ := json.Marshal(selector)
	return `new Promise((resolve) => {
		const f = document.getElementById("ingress");
		f.addEventListener("load", () => resolve(f.contentDocument.body.innerText), {once: true});
		f.contentDocument.querySelector(` + string(sel) + `).click();
	})`
}

// TestIngressLoginInChromium: the page inside Home Assistant's frame,
// under the Ingress prefix, through the whole login: the button in the
// frame, Tesla in a tab of its own, back to the callback under the prefix
// (or the address pasted into the frame when the redirect URI leads
// elsewhere).
func TestIngressLoginInChromium(t *testing.T) {
	b := browsertest.Start(t)
	var saved []*fleet.Token
	hp := newHAProxy(t, false, &saved)
	ha := b.NewPage(1280, 900, false)
	ha.Navigate(hp.URL + "/")
	// The frame's own CSP forbids eval; the parent reads its DOM instead.
	inFrame := func(expr string) any {
		return ha.Eval(`(() => { const f = document.getElementById("ingress"), doc = f.contentDocument, win = f.contentWindow; return ` + expr + `; })()`)
	}
	if h, _ := inFrame(`doc && doc.querySelector("h1") ? doc.querySelector("h1").innerText : "nothing"`).(string); !strings.HasPrefix(h, "Bridge ") {
		t.Fatalf("the frame shows %v (refused to be framed, or the page failed)", h)
	}
	if bg := inFrame(`win.getComputedStyle(doc.querySelector("body > header")).backgroundColor`); bg != "rgb(23, 26, 32)" {
		t.Errorf("the stylesheet did not load under the prefix: %v", bg)
	}
	saveShot(t, "status-page-ingress.png", ha.Screenshot())

	start := ha.Eval(clickInFrame("#login")).(string)
	if !strings.Contains(start, "Open Tesla's login") {
		t.Fatalf("after the button the frame shows:\n%s", start)
	}
	link := inFrame(`doc.getElementById("tesla-login").href`).(string)
	if target := inFrame(`doc.getElementById("tesla-login").target`); target != "_blank" {
		t.Errorf("Tesla's login opens in %v, not a tab of its own", target)
	}
	tab := b.NewPage(390, 844, true)
	tab.Navigate(link)
	if text := tab.Eval("document.body.innerText").(string); !strings.Contains(text, "Logged in with Tesla") || len(saved) != 1 {
		t.Fatalf("the tab Tesla sent back shows (%d tokens saved):\n%s", len(saved), text)
	}
	if u := tab.Eval("location.pathname"); u != testPrefix+"/auth/callback" {
		t.Errorf("the callback ran at %v", u)
	}

	// A redirect URI elsewhere: the address is pasted into the frame.
	var pasted []*fleet.Token
	hp2 := newHAProxy(t, true, &pasted)
	ha.Navigate(hp2.URL + "/")
	ha.Eval(clickInFrame("#login"))
	tab.Navigate(inFrame(`doc.getElementById("tesla-login").href`).(string))
	redirected := tab.Eval("location.href").(string)
	if !strings.Contains(redirected, "/landing/callback?") || !strings.Contains(redirected, "code=") {
		t.Fatalf("Tesla sent the tab to %s", redirected)
	}
	inFrame(`doc.getElementById("redirected").value = ` + quote(redirected))
	if text := ha.Eval(clickInFrame("#finish")).(string); !strings.Contains(text, "Logged in with Tesla") || len(pasted) != 1 {
		t.Fatalf("after pasting, the frame shows (%d tokens saved):\n%s", len(pasted), text)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
