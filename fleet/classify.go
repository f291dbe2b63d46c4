package fleet

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on what one response can make the client carry or do, so a chatty
// or misbehaving server cannot flood logs, loop, or park the bridge for days.
const (
	maxMessageRunes   = 300
	defaultRetryAfter = 60 * time.Second
	maxRetryAfter     = 24 * time.Hour
)

// envelope is the wrapper around every Fleet API answer. The error fields are
// raw because Tesla is not consistent about their types either.
type envelope struct {
	Response         json.RawMessage `json:"response"`
	Error            json.RawMessage `json:"error"`
	ErrorDescription json.RawMessage `json:"error_description"`
}

// baseURLRE finds the host in Tesla's 421 text "user out of region, use base URL: https://…".
var baseURLRE = regexp.MustCompile(`(?i)use base URL:\s*(https://[a-z0-9.\-]+(?::[0-9]+)?)`)

// classify turns a non-2xx response into an *APIError, once, by status code.
// Only 403 and 421 need the body: Tesla multiplexes several conditions on
// 403, and 421 carries the right host.
func classify(endpoint string, status int, h http.Header, body []byte, now time.Time) *APIError {
	var env envelope
	_ = json.Unmarshal(body, &env) // best effort: error bodies may be empty or plain text
	errText, desc := jsonText(env.Error), jsonText(env.ErrorDescription)
	msg := errText
	if msg == "" {
		msg = desc
	}
	if msg == "" {
		msg = commandReason(env.Response) // the vehicle-command proxy's 400s
	}
	e := &APIError{Endpoint: endpoint, Status: status, Message: trimMessage(msg)}
	switch {
	case status == http.StatusRequestTimeout:
		e.Kind = ErrAsleep
	case status == http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
	case status == http.StatusPaymentRequired:
		e.Kind = ErrExceededLimit
	case status == http.StatusForbidden:
		hay := strings.ToLower(string(body))
		switch {
		case strings.Contains(hay, "tesla vehicle command protocol required"):
			e.Kind = ErrProtocolRequired
		case strings.Contains(hay, "exceeded_limit"):
			e.Kind = ErrExceededLimit
		case strings.Contains(hay, "missing scopes") || errText == "invalid_scope":
			e.Kind = ErrMissingScopes
		case strings.Contains(hay, "disabled"):
			e.Kind = ErrAppDisabled
		default:
			e.Kind = ErrForbidden
		}
	case status == http.StatusNotFound:
		e.Kind = ErrNotFound
	case status == http.StatusPreconditionFailed:
		e.Kind = ErrNotRegistered
	case status == http.StatusMisdirectedRequest:
		e.Kind = ErrWrongRegion
		e.BaseURL = regionBaseURL(h, body)
	case status == http.StatusTooManyRequests:
		e.Kind = ErrRateLimited
		e.RetryAfter = retryAfter(h, now)
	case status >= 500:
		e.Kind = ErrServer
	default:
		e.Kind = ErrBadRequest
	}
	return e
}

// regionBaseURL extracts the account's host from a 421: first the body text
// (what vehicle-command's inet connector reads), then Alt-Svc: h2=https://…
// (what its proxy reads).
func regionBaseURL(h http.Header, body []byte) string {
	if m := baseURLRE.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	for _, v := range h.Values("Alt-Svc") {
		for _, alt := range strings.Split(v, ",") {
			proto, target, ok := strings.Cut(strings.TrimSpace(alt), "=")
			if !ok || proto != "h2" {
				continue
			}
			target, _, _ = strings.Cut(target, ";") // drop parameters such as ma=
			target = strings.Trim(strings.TrimSpace(target), `"`)
			if u, err := url.Parse(target); err == nil && u.Scheme == "https" && u.Host != "" {
				return "https://" + u.Host
			}
		}
	}
	return ""
}

// retryAfter reads Retry-After (delta seconds or HTTP date), then
// RateLimit-Reset (seconds), and defaults to a minute so that a 429 always
// yields a positive back-off.
func retryAfter(h http.Header, now time.Time) time.Duration {
	d, ok := time.Duration(0), false
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			d, ok = seconds(n), true
		} else if t, err := http.ParseTime(v); err == nil {
			d, ok = t.Sub(now), true
		}
	}
	if !ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("RateLimit-Reset")), 10, 64); err == nil && n >= 0 {
			d, ok = seconds(n), true
		}
	}
	switch {
	case !ok:
		return defaultRetryAfter
	case d < time.Second: // a date in the past or "0": still wait a moment
		return time.Second
	case d > maxRetryAfter:
		return maxRetryAfter
	}
	return d
}

// seconds converts a header's delta-seconds, capped so that a silly value
// cannot overflow or park the bridge for days.
func seconds(n int64) time.Duration {
	if n > int64(maxRetryAfter/time.Second) {
		return maxRetryAfter
	}
	return time.Duration(n) * time.Second
}

// jsonText returns a JSON string's value, or the raw JSON of anything else.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return string(raw)
}

// commandReason returns response.reason of an error body, if any.
func commandReason(raw json.RawMessage) string {
	var r struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(raw, &r)
	return strings.TrimSpace(r.Reason)
}

// trimMessage caps a message at maxMessageRunes runes.
func trimMessage(s string) string {
	if utf8.RuneCountInString(s) <= maxMessageRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxMessageRunes]) + "…"
}
