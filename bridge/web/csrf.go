package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The page's forms carry a CSRF token: an HMAC, under a key made at start,
// of a random session id kept in a cookie. Another site can make a browser
// send the cookie but cannot read the page to learn the token, and a cookie
// planted from a sibling host is useless without the key. A restart makes
// new keys, so an old form is refused with "reload the page".
const sessionCookie = "tesla2mqtt_session"

// session returns the browser's session id, setting the cookie when it has
// none. The cookie is scoped to the page's prefix, so under Ingress it is
// not sent to other add-ons or to Home Assistant itself.
func (s *Server) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && validSessionID(c.Value) {
		return c.Value
	}
	id := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: infoOf(r).base + "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return id
}

func validSessionID(v string) bool {
	if len(v) != 26 { // rand.Text: 26 base32 characters
		return false
	}
	for _, c := range v {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// csrfToken is the token the forms of a session carry.
func (s *Server) csrfToken(session string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF accepts a POST whose csrf field matches its session cookie.
func (s *Server) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !validSessionID(c.Value) {
		return false
	}
	got := r.PostFormValue("csrf")
	return hmac.Equal([]byte(got), []byte(s.csrfToken(c.Value)))
}
