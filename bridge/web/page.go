package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge"
)

func (s *Server) renderMessage(w http.ResponseWriter, status int, title, text string, retry bool) {
	s.pages.render(w, status, "message.html", messageView{Title: title, Text: text, Retry: retry && s.opts.Login != nil})
}

// indexView is what the status page renders.
type indexView struct {
	bridge.Status
	Health   Health
	CanLogin bool
	Cars     []bridge.DeviceStatus
	Sites    []bridge.DeviceStatus
	// PairingQR is an inline SVG of the pairing link.
	PairingQR template.HTML
	Now       time.Time
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	st := s.opts.Bridge.Status()
	v := indexView{Status: st, Health: health(st, s.opts.MQTTConnected), CanLogin: s.opts.Login != nil, Now: s.opts.Clock.Now()}
	for _, d := range st.Devices {
		if d.Kind == "vehicle" {
			v.Cars = append(v.Cars, d)
		} else {
			v.Sites = append(v.Sites, d)
		}
	}
	if st.PairingURL != "" {
		v.PairingQR = qrSVG(st.PairingURL)
	}
	s.pages.render(w, http.StatusOK, "index.html", v)
}
