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
// refuses anything else). The bridge is recognised by its Credentials.
type authHook struct {
	mochi.HookBase
	users  map[string][]byte // username → bcrypt hash
	bridge Credentials
	acl    ACL
}

// ID names the hook in mochi's logs.
func (h *authHook) ID() string { return "tesla2mqtt-auth" }

// Provides declares the two checks the hook answers.
func (h *authHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// OnConnectAuthenticate checks the username and password, and refuses a
// client other than the bridge whose last will would land on a protected
// topic (mochi sends wills without an ACL check, so a will could otherwise
// forge "offline" on the bridge's state).
func (h *authHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user, pass := string(pk.Connect.Username), pk.Connect.Password
	if h.isBridgeLogin(user, pass) {
		return true
	}
	if len(h.users) > 0 {
		hash, ok := h.users[user]
		if !ok || bcrypt.CompareHashAndPassword(hash, pass) != nil {
			return false
		}
	}
	if pk.Connect.WillFlag && !h.othersMayWrite(pk.Connect.WillTopic) {
		return false
	}
	return true
}

// OnACLCheck lets everyone read, the bridge write everywhere, and the others
// write only outside the protected namespace or to command topics.
func (h *authHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if !write || h.isBridge(cl) {
		return true
	}
	return h.othersMayWrite(topic)
}

// isBridgeLogin compares in constant time; an empty bridge password never matches.
func (h *authHook) isBridgeLogin(user string, pass []byte) bool {
	if h.bridge.Password == "" || user != h.bridge.Username {
		return false
	}
	return subtle.ConstantTimeCompare(pass, []byte(h.bridge.Password)) == 1
}

// isBridge tells the bridge's connection by the username it authenticated
// with; a user of the same name cannot exist (validated in the config) and
// could not have passed authentication anyway.
func (h *authHook) isBridge(cl *mochi.Client) bool {
	return h.bridge.Password != "" && string(cl.Properties.Username) == h.bridge.Username
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
