package broker

import (
	"crypto/subtle"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"
)

// User is one account of the embedded broker. PasswordHash is a bcrypt hash
// ("$2a$…", "$2b$…" or "$2y$…", as printed by `tesla2mqtt hash-password`);
// plain passwords are never stored in the config.
type User struct {
	Username     string
	PasswordHash string
}

// Credentials are the bridge's own login on the embedded broker. The caller
// makes a fresh random password for every run, so it never sits in a file.
type Credentials struct {
	Username string
	Password string
}

// ACL protects the bridge's topics. Only the bridge may publish under
// BaseTopic (device state, availability, results, bridge/*) and under
// DiscoveryPrefix (discovery configs), except for the command and request
// topics every user may write: <base>/<device>/set, <base>/<device>/set/<key>,
// <base>/<device>/get, <base>/bridge/request/<action>, and HA's own
// <prefix>/status birth message. Everyone may read everything. With an empty
// BaseTopic the broker protects nothing (a bare broker for tests and tools).
type ACL struct {
	BaseTopic       string
	DiscoveryPrefix string
	// Protected are further prefixes only the bridge writes (for example the
	// TeslaMate-compatible topics), so nobody can spoof them.
	Protected []string
}

// authHook authenticates clients and applies the ACL. A broker without users
// accepts anonymous clients; it only ever listens on loopback then (Start
// refuses anything else). The bridge is recognised by its Credentials, and
// its username with any other password is refused in every mode, so no
// client can borrow the bridge's rights.
type authHook struct {
	mochi.HookBase
	srv      *mochi.Server     // set before Serve; for the client id check
	users    map[string][]byte // username → bcrypt hash
	id       identity
	acl      ACL
	throttle *loginThrottle
	warn     *warner
}

// ID names the hook in mochi's logs.
func (h *authHook) ID() string { return "tesla2mqtt-auth" }

// Provides declares the checks the hook answers.
func (h *authHook) Provides(b byte) bool {
	return b == mochi.OnConnect || b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// OnConnect runs before authentication and refuses, with a CONNACK that
// says why, an address that failed to log in too often and a client that
// wants the bridge's client id while the bridge holds it. MQTT lets a
// newcomer take over a client id, kicking the holder off; anyone could
// otherwise disconnect the bridge at will.
func (h *authHook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	user := string(pk.Connect.Username)
	if h.id.isBridgeLogin(user, pk.Connect.Password) {
		// Never throttled: its per-run secret cannot be guessed, and
		// throttling it would let anyone on this host lock the bridge out.
		return nil
	}
	if h.throttle.blocked(cl.Net.Remote) {
		return h.refuse(cl, user, packets.ErrServerUnavailable, "too many failed logins from this address; try again later")
	}
	if existing, ok := h.srv.Clients.Get(cl.ID); ok && h.id.isBridge(existing) {
		return h.refuse(cl, user, packets.ErrClientIdentifierNotValid, "the client id belongs to the bridge")
	}
	return nil
}

// refuse answers a CONNACK with code, logs the refusal and returns code,
// which makes mochi end the connection.
func (h *authHook) refuse(cl *mochi.Client, user string, code packets.Code, reason string) error {
	h.logRefusal(cl, user, reason)
	_ = h.srv.SendConnack(cl, code, false, nil)
	return code
}

// OnConnectAuthenticate checks the username and password, and refuses a
// client other than the bridge whose last will would land on a protected
// topic (mochi sends wills without an ACL check, so a will could otherwise
// forge "offline" on the bridge's state). Wrong passwords count towards
// the address's login throttle.
func (h *authHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user, pass := string(pk.Connect.Username), pk.Connect.Password
	if h.id.isBridgeLogin(user, pass) {
		return true
	}
	if h.id.isBridgeUser(user) {
		return h.fail(cl, user, "the bridge's own username with a wrong password")
	}
	if len(h.users) > 0 {
		hash, ok := h.users[user]
		if !ok {
			return h.fail(cl, user, "unknown user")
		}
		if bcrypt.CompareHashAndPassword(hash, pass) != nil {
			return h.fail(cl, user, "wrong password")
		}
	}
	if pk.Connect.WillFlag && !h.othersMayWrite(pk.Connect.WillTopic) {
		h.logRefusal(cl, user, "last will on a topic only the bridge may write")
		return false
	}
	return true
}

// fail records a failed login for the client's address and refuses it.
func (h *authHook) fail(cl *mochi.Client, user, reason string) bool {
	h.throttle.fail(cl.Net.Remote)
	h.logRefusal(cl, user, reason)
	return false
}

// logRefusal logs a refused login with user, address and reason, at most
// once a minute per address; the password never reaches the log.
func (h *authHook) logRefusal(cl *mochi.Client, user, reason string) {
	h.warn.event("login:"+throttleKey(cl.Net.Remote)).Str("user", clip(user)).Str("addr", cl.Net.Remote).
		Str("client_id", clip(cl.ID)).Str("reason", reason).Msg("embedded broker refused a login")
}

// OnACLCheck lets everyone read, the bridge write everywhere, and the others
// write only outside the protected namespace or to command topics.
func (h *authHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if !write || h.id.isBridge(cl) {
		return true
	}
	return h.othersMayWrite(topic)
}

// identity tells the bridge's connection from everyone else's.
type identity struct {
	bridge Credentials
}

// isBridgeLogin compares in constant time; an empty bridge password never matches.
func (id identity) isBridgeLogin(user string, pass []byte) bool {
	if id.bridge.Password == "" || user != id.bridge.Username {
		return false
	}
	return subtle.ConstantTimeCompare(pass, []byte(id.bridge.Password)) == 1
}

// isBridgeUser reports whether user is the bridge's username; that
// account exists only with the bridge's per-run password.
func (id identity) isBridgeUser(user string) bool {
	return id.bridge.Username != "" && user == id.bridge.Username
}

// isBridge tells the bridge's connection by the username it authenticated
// with: OnConnectAuthenticate refuses that username with any other
// password, and no configured user may take it (validated in the config).
func (id identity) isBridge(cl *mochi.Client) bool {
	return id.bridge.Password != "" && id.isBridgeUser(string(cl.Properties.Username))
}

// clip keeps client-chosen strings in log lines short: a 64 KiB username
// must not become a 64 KiB log line.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// othersMayWrite is the ACL for every client but the bridge.
func (h *authHook) othersMayWrite(topic string) bool {
	a := h.acl
	if a.BaseTopic == "" {
		return true
	}
	if a.DiscoveryPrefix != "" {
		if topic == a.DiscoveryPrefix+"/status" {
			return true // Home Assistant's birth and last will
		}
		if under(topic, a.DiscoveryPrefix) {
			return false
		}
	}
	for _, p := range a.Protected {
		if p != "" && under(topic, p) {
			return false
		}
	}
	if !under(topic, a.BaseTopic) {
		return true
	}
	rest := strings.Split(strings.TrimPrefix(topic, a.BaseTopic+"/"), "/")
	switch {
	case len(rest) == 3 && rest[0] == "bridge" && rest[1] == "request" && rest[2] != "":
		return true
	case rest[0] == "bridge" || rest[0] == "":
		return false
	case len(rest) == 2 && (rest[1] == "set" || rest[1] == "get"):
		return true
	case len(rest) == 3 && rest[1] == "set" && rest[2] != "":
		return true
	}
	return false
}

// under reports whether topic is prefix itself or lies below it.
func under(topic, prefix string) bool {
	return topic == prefix || strings.HasPrefix(topic, prefix+"/")
}
