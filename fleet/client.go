package fleet

import (
	"context"
	"net/http"
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

// Client talks to the Fleet API. It is safe for concurrent use.
//
// Implemented in client_impl.go; the method set below is the contract the
// bridge codes against.
var _ interface {
	Products(ctx context.Context) ([]Product, error)
	Vehicles(ctx context.Context) ([]Vehicle, error)
	Vehicle(ctx context.Context, vin string) (*Vehicle, error)
	VehicleData(ctx context.Context, vin string, endpoints []Endpoint) (*VehicleData, error)
	LiveStatus(ctx context.Context, siteID int64) (*LiveStatus, error)
	SiteInfo(ctx context.Context, siteID int64) (*SiteInfo, error)
	WakeUp(ctx context.Context, vin string) (*Vehicle, error)
	UserRegion(ctx context.Context) (*Region, error)
	BaseURL() string
} = (*Client)(nil)
