package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages holds the parsed templates.
type pages struct {
	t *template.Template
}

func loadPages() (*pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"ago":     ago,
		"value":   formatValue,
		"usd":     func(f float64) string { return fmt.Sprintf("$%.2f", f) },
		"join":    strings.Join,
		"deref":   func(b *bool) bool { return b != nil && *b },
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
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

// messageView is a short page with a title, a text and a way back.
type messageView struct {
	Title, Text string
	Retry       bool
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
