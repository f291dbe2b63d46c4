package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
)

// pages holds the parsed templates.
type pages struct {
	t *template.Template
}

// loadPages parses the templates; times are shown in loc.
func loadPages(loc *time.Location) (*pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"ago":   ago,
		"value": formatValue,
		"usd":   func(f float64) string { return fmt.Sprintf("$%.2f", f) },
		"join":  strings.Join,
		"deref": func(b *bool) bool { return b != nil && *b },
		// when shows a time in the bridge's zone, with the zone, so that a
		// reader abroad is not misled; iso is for datetime attributes.
		"when": func(v any) string { return localTime(v, loc) },
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return &pages{t: t}, nil
}

// render executes a template into a buffer first, so a failing template
// yields a clean 500 instead of half a page.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "template error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// page is what every page's layout needs.
type page struct {
	Title string
	// Base prefixes every link, form action and asset ("" outside Ingress).
	Base string
	// CSRF is the token the page's forms carry.
	CSRF string
	// Refresh is the seconds between fresh copies (0: the page stays as is).
	Refresh int
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, title string) page {
	return page{Title: title, Base: infoOf(r).base, CSRF: s.csrfToken(s.session(w, r))}
}

// messageView is a short page with a title, a text and a way back.
type messageView struct {
	page
	Text string
}

func (s *Server) renderMessage(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	s.pages.render(w, status, "message.html", messageView{page: s.page(w, r, title), Text: text})
}

// indexView is what the status page renders.
type indexView struct {
	page
	contract.Status
	Health Health
	Checks []checkLine
	// Login is nil when no login is configured.
	Login *gate
	Cars  []deviceView
	Sites []deviceView
	// PairingQR is an inline SVG of the pairing link.
	PairingQR template.HTML
	Now       time.Time
	// Chart is the month's spend per day (nil: no per-day data).
	Chart *chartView
}

// checkLine is one line of the health card.
type checkLine struct {
	OK   bool
	Text string
}

// deviceView is a car or site as a card: named as people know it.
type deviceView struct {
	contract.DeviceStatus
	// Title is Tesla's name for the device, else the configured name.
	Title string
	// Topic is the configured name (the MQTT topic segment) when it
	// differs from Title and from the VIN or site id.
	Topic string
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	st := s.opts.Bridge.Status()
	v := indexView{page: s.page(w, r, "Status"), Status: st, Health: health(st, s.opts.MQTTConnected), Now: s.opts.Clock.Now()}
	v.Refresh = int(s.opts.Refresh / time.Second)
	if s.opts.Login != nil {
		g := s.gate(infoOf(r))
		v.Login = &g
	}
	titles := map[string]string{}
	for _, d := range st.Devices {
		dv := deviceView{DeviceStatus: d, Title: d.Label}
		if dv.Title == "" {
			dv.Title = d.Name
		}
		if !strings.EqualFold(d.Name, dv.Title) && d.Name != d.ID {
			dv.Topic = d.Name
		}
		titles[d.Name] = dv.Title
		if d.Kind == "vehicle" {
			v.Cars = append(v.Cars, dv)
		} else {
			v.Sites = append(v.Sites, dv)
		}
	}
	v.Checks = healthLines(v.Health, titles)
	if st.PairingURL != "" {
		v.PairingQR = qrSVG(st.PairingURL)
	}
	if s.opts.SpendDays != nil {
		v.Chart = spendChart(s.opts.SpendDays(), v.Now)
	}
	s.pages.render(w, http.StatusOK, "index.html", v)
}

// healthLines words the verdict for people, with devices by name.
func healthLines(h Health, titles map[string]string) []checkLine {
	lines := []checkLine{{h.MQTT.OK, "MQTT: " + h.MQTT.Detail}, {h.Token.OK, "Tesla token: " + h.Token.Detail}}
	if !h.Account.OK {
		lines = append(lines, checkLine{false, "Tesla account: " + h.Account.Detail})
	}
	for _, d := range h.Devices {
		name := titles[d.Name]
		if name == "" {
			name = d.Name
		}
		text := name + ": last read ok"
		switch {
		case !d.OK:
			text = name + ": " + d.Detail
		case d.State != "":
			text += " (" + d.State + ")"
		}
		lines = append(lines, checkLine{d.OK, text})
	}
	return lines
}

// qrSVG draws the QR code of text as an inline SVG: one path of unit
// squares, crisp at any size and a few hundred bytes, with no image file.
func qrSVG(text string) template.HTML {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return ""
	}
	q.DisableBorder = false
	bits := q.Bitmap()
	n := len(bits)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code of the pairing link">`, n, n)
	fmt.Fprintf(&sb, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&sb, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	sb.WriteString(`"/></svg>`)
	// Safe: built only from numbers and constant markup above.
	return template.HTML(sb.String())
}

// localTime shows a time (a time.Time, or an RFC 3339 string as the bridge
// keeps some) in loc: "Sun 29 Nov 13:00 CET". Unparseable strings are
// shown as they are rather than hidden.
func localTime(v any, loc *time.Location) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *string:
		if x == nil {
			return ""
		}
		return localTime(*x, loc)
	case string:
		p, err := time.Parse(time.RFC3339, x)
		if err != nil {
			return x
		}
		t = p
	default:
		return fmt.Sprint(v)
	}
	if t.IsZero() {
		return "never"
	}
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// ago says how long ago t was, for people ("3 min ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// formatValue prints a reading without float noise.
func formatValue(v any, unit string) string {
	var s string
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) {
			s = fmt.Sprintf("%.0f", x)
		} else {
			s = fmt.Sprintf("%.1f", x)
		}
	case bool:
		s = map[bool]string{true: "yes", false: "no"}[x]
	default:
		s = fmt.Sprint(x)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}
