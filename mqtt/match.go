package mqtt

import "strings"

// Match reports whether topic matches the subscription filter, with MQTT
// wildcards: "+" matches exactly one level, a trailing "#" matches the parent
// level and any number below it. As the spec requires, a filter that starts
// with a wildcard does not match topics starting with "$" (broker internals
// such as $SYS). An invalid filter matches nothing.
func Match(filter, topic string) bool {
	if !validFilter(filter) || topic == "" {
		return false
	}
	if topic[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	fs := strings.Split(filter, "/")
	ts := strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true // validFilter guarantees it is the last level
		}
		if i >= len(ts) || (f != "+" && f != ts[i]) {
			return false
		}
	}
	return len(fs) == len(ts)
}

// validFilter reports whether filter is a well-formed subscription filter:
// non-empty, "+" and "#" only as whole levels, "#" only last.
func validFilter(filter string) bool {
	if filter == "" || strings.ContainsRune(filter, 0) {
		return false
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return false
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return false
		}
	}
	return true
}

// ValidFilter reports whether filter is a subscription filter Subscribe
// accepts.
func ValidFilter(filter string) bool { return validFilter(filter) }

// ValidTopic reports whether Publish accepts topic: not empty, no
// wildcards, no NUL.
func ValidTopic(topic string) bool { return topic != "" && validTopic(topic) }

// validTopic reports whether topic may be published to: no wildcards, no NUL.
func validTopic(topic string) bool {
	return !strings.ContainsAny(topic, "+#\x00")
}
