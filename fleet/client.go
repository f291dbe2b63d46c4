package fleet

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Regional Fleet API hosts (FLEET_API.md §2.1).
const (
	BaseURLNA = "https://fleet-api.prd.na.vn.cloud.tesla.com"
	BaseURLEU = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
	BaseURLCN = "https://fleet-api.prd.cn.vn.cloud.tesla.cn"
)

// Options configure a Client.
type Options struct {
	// BaseURL is the Fleet API host, e.g. BaseURLNA or a fleetsim URL. Required.
	BaseURL string
	// TokenSource supplies the bearer token for every request. Required.
	TokenSource oauth2.TokenSource
	// HTTPClient is used for every request (default: a client with no global timeout;
	// each request gets its own deadline from Timeout).
	HTTPClient *http.Client
	// Timeout bounds every request (default 30 s).
	Timeout time.Duration
	// MaxBodyBytes limits the size of a response body (default 4 MiB).
	MaxBodyBytes int64
	// Recorder meters every response (optional).
	Recorder Recorder
	// UserAgent is sent with every request.
	UserAgent string
	// Clock stamps metered responses and times them (default: the wall clock).
	Clock clock.Clock
	// Logger receives one debug line per request. Never payloads or tokens.
	Logger zerolog.Logger
}

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
		c.hc = &http.Client{Transport: pooledTransport()}
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

// MaxIdleConnsPerHost is how many idle connections the default client
// keeps to the Fleet API host: at least the bridge's read concurrency, or
// a round of 16 parallel reads would open (and TLS-handshake) new
// connections all the time, as with Go's default of 2.
const MaxIdleConnsPerHost = 64

// pooledTransport is Go's default transport with enough idle connections
// per host for the bridge's parallel reads.
func pooledTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	tr.MaxIdleConns = max(tr.MaxIdleConns, 2*MaxIdleConnsPerHost)
	return tr
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
