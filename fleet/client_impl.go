package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Defaults applied by New for zero Options fields.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 4 << 20
	DefaultUserAgent    = "tesla2mqtt"
)

// Client talks to the Fleet API. It is safe for concurrent use.
//
// It never retries: every call costs money (FLEET_API.md §6.1), so retry and
// back-off policy belongs to the bridge, which sees the classified error.
type Client struct {
	ts        oauth2.TokenSource
	hc        *http.Client
	timeout   time.Duration
	maxBody   int64
	recorder  Recorder
	userAgent string
	clock     clock.Clock
	log       zerolog.Logger
	// base is swapped atomically because a 421 or region discovery may move
	// the account to another host while other calls are in flight.
	base atomic.Pointer[string]
}

// New validates opts and returns a Client with defaults filled in.
func New(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("fleet: TokenSource is required")
	}
	base, err := normalizeBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		ts:        opts.TokenSource,
		hc:        opts.HTTPClient,
		timeout:   opts.Timeout,
		maxBody:   opts.MaxBodyBytes,
		recorder:  opts.Recorder,
		userAgent: opts.UserAgent,
		clock:     clock.OrReal(opts.Clock),
		log:       opts.Logger,
	}
	if c.hc == nil {
		// No global timeout: each request gets its own deadline instead.
		c.hc = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	c.base.Store(&base)
	return c, nil
}

// BaseURL returns the Fleet API host currently used, without a trailing slash.
func (c *Client) BaseURL() string { return *c.base.Load() }

// SetBaseURL switches the host for all later calls, e.g. after a 421
// (APIError.BaseURL) or GET /api/1/users/region. Calls already in flight keep
// the old host. An invalid URL is stored as given so that later calls fail
// loudly instead of quietly reaching the old region; callers should check
// the host (a tesla.com / tesla.cn name) before following a 421, because the
// bearer token goes wherever the base URL points.
func (c *Client) SetBaseURL(u string) {
	if n, err := normalizeBaseURL(u); err == nil {
		u = n
	}
	c.base.Store(&u)
}

// normalizeBaseURL accepts only absolute http(s) URLs and drops a trailing
// slash so paths can be appended verbatim.
func normalizeBaseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("fleet: BaseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("fleet: BaseURL is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("fleet: BaseURL must be an absolute http(s) URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("fleet: BaseURL must not have a query or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
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
