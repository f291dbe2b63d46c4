package web

import (
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// reqInfo is what the server decided about one request before routing it.
type reqInfo struct {
	// ingress: the request came from the trusted Ingress peer.
	ingress bool
	// base is the path prefix every link, form and redirect starts with
	// ("" outside Ingress; "/api/hassio_ingress/<token>" inside).
	base string
	// client is who the login limits count against: the peer's address
	// (its /64 for IPv6), or the Home Assistant user behind Ingress.
	client string
}

type reqInfoKey struct{}

func infoOf(r *http.Request) reqInfo {
	ri, _ := r.Context().Value(reqInfoKey{}).(reqInfo)
	return ri
}

// ingressPrefix is the shape of X-Ingress-Path (/api/hassio_ingress/<token>).
// Anything else is ignored rather than echoed into every link of the page.
var ingressPrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+/?$`)

// classify tells Ingress requests from others. The header alone proves
// nothing, since any client can send it: only the configured peer counts.
func (s *Server) classify(r *http.Request) reqInfo {
	peer := peerAddr(r)
	ri := reqInfo{client: clientKey(peer)}
	if ip := s.opts.Access.IngressPeer; !ip.IsValid() || peer != ip.Unmap() {
		return ri
	}
	ri.ingress = true
	if p := r.Header.Get("X-Ingress-Path"); len(p) <= 256 && ingressPrefix.MatchString(p) {
		ri.base = strings.TrimSuffix(p, "/")
	}
	// The Supervisor sets these from the Ingress session and drops any
	// the browser sent, so behind Ingress they name the user.
	ri.client = "ingress"
	if u := r.Header.Get("X-Remote-User-Id"); u != "" && len(u) <= 64 {
		ri.client = "ingress:" + u
	}
	return ri
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// clientKey groups an IPv6 peer by its /64: one household or host gets a
// whole prefix, and counting single addresses would let it dodge a limit.
func clientKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// isLoopback reports whether a listen address accepts loopback
// connections only. An empty or wildcard host listens everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// gate is what a request may do about the login.
type gate struct {
	// Off, when set, says why this request may not start a login and what
	// to configure; the page is then read-only.
	Off string
	// Password: starting a login asks for the page password.
	Password bool
}

// gate decides, for one request, whether a login may start and how.
func (s *Server) gate(ri reqInfo) gate {
	a := s.opts.Access
	switch {
	case ri.ingress:
		return gate{}
	case a.PasswordHash != "":
		return gate{Password: true}
	case isLoopback(a.Listen):
		return gate{}
	case a.IngressPeer.IsValid():
		return gate{Off: "The Tesla login is off on this address: open the page through Home Assistant " +
			"(the add-on's Open Web UI button, or Tesla in the sidebar), where Home Assistant's own login protects it."}
	}
	where := a.Listen
	if where == "" {
		where = "an address beyond this machine"
	}
	return gate{Off: "The Tesla login is off: this page listens on " + where + ", beyond this machine, and [http] password_hash " +
		"is not set, so anyone who can reach it could replace the bridge's Tesla token. To log in here, set [http] password_hash " +
		"(make one with: tesla2mqtt hash-password) and restart; or bind [http] addr to 127.0.0.1; or log in with " +
		"'tesla2mqtt login --paste' on the command line."}
}

// checkPassword compares with the configured bcrypt hash; bcrypt makes a
// guess cost tens of milliseconds, and the per-client limit caps guesses.
func (s *Server) checkPassword(pw string) bool {
	if len(pw) == 0 || len(pw) > 72 {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(s.opts.Access.PasswordHash), []byte(pw)) == nil
}

// Limits of the login per client: a window, the logins one client may
// start in it, the wrong passwords it may send, and how many logins it
// may have open (a new one replaces its oldest). One client hitting a
// limit never locks out another.
const (
	limitWindow       = 10 * time.Minute
	maxStartsPerWin   = 10
	maxFailuresPerWin = 5
	maxOpenPerClient  = 3
	// maxOpen bounds memory over all clients; the oldest login goes first.
	maxOpen = 64
	// maxClients bounds the tally; the oldest window goes first.
	maxClients = 1024
)

// clientTally counts one client's login attempts in the current window.
type clientTally struct {
	since            time.Time
	starts, failures int
}

// tally returns the client's counts for the current window, starting a
// new window when the last one is over. Callers hold s.mu.
func (s *Server) tally(client string, now time.Time) *clientTally {
	for k, c := range s.clients {
		if now.Sub(c.since) >= limitWindow {
			delete(s.clients, k)
		}
	}
	c := s.clients[client]
	if c == nil {
		if len(s.clients) >= maxClients {
			oldest := ""
			for k, o := range s.clients {
				if oldest == "" || o.since.Before(s.clients[oldest].since) {
					oldest = k
				}
			}
			delete(s.clients, oldest)
		}
		c = &clientTally{since: now}
		s.clients[client] = c
	}
	return c
}

// retryIn says when a client's window ends, for people ("4 minutes").
func retryIn(c *clientTally, now time.Time) string {
	m := int((limitWindow - now.Sub(c.since) + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return strconv.Itoa(m) + " minutes"
}
