package contract

import (
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// Response is the payload of <base>/bridge/response/<action>.
type Response struct {
	Status      string         `json:"status"`
	Data        any            `json:"data,omitempty"`
	Error       *ResponseError `json:"error,omitempty"`
	Transaction any            `json:"transaction,omitempty"`
	// Shard is the instance that answers ("i/n"), when the account is
	// split between several (README "Several instances").
	Shard string `json:"shard,omitempty"`
}

// ResponseError is the error part of a Response.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Remedy says what to do about it, where there is something to do.
	Remedy string `json:"remedy,omitempty"`
}

// Info is the retained payload of <base>/bridge/info.
type Info struct {
	Version  string       `json:"version"`
	Devices  []DeviceInfo `json:"devices"`
	Requests *Requests    `json:"requests,omitempty"`
	// Account is the Tesla account's state: login needed, region, granted
	// and missing scopes, token expiry. Absent without Options.Account.
	Account *AccountInfo `json:"account,omitempty"`
	// Budget is this month's Fleet API spend, its month-end projection and
	// the polling stretch or pause. Absent without Options.Budget.
	Budget *economy.BudgetStatus `json:"budget,omitempty"`
	// ConnectivityCheck is the pace of the vehicle-list check when it is
	// priced ([prices] connectivity): stretched before any read when the
	// budget runs over. Absent while the check is free.
	ConnectivityCheck *economy.CheckCadence `json:"connectivity_check,omitempty"`
	// Polling is each car's polling state (asleep, driving, charging, idle,
	// suspended…), by device name.
	Polling map[string]string `json:"polling,omitempty"`
	At      string            `json:"at"`
}

// DeviceInfo describes one bridged device in bridge/info.
type DeviceInfo struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Model string `json:"model"`
	Label string `json:"label"`
	State string `json:"state,omitempty"`
	Error string `json:"last_error,omitempty"`
}

// Requests counts Fleet API responses since start.
type Requests struct {
	// Billable counts billable responses by billing category.
	Billable map[string]int `json:"billable"`
	// ByEndpoint counts all responses by endpoint.
	ByEndpoint map[string]int `json:"by_endpoint"`
}

// Status is a read-only snapshot of the bridge, taken for the status page
// and /healthz. It copies everything it shows, so a renderer never holds
// the bridge's lock.
type Status struct {
	Version string
	At      time.Time
	// Discovered is false until the account's products were read once.
	Discovered bool
	// Account is the Tesla login: region, granted and missing scopes,
	// consent link. Never nil.
	Account AccountInfo
	// AccountKnown is false when the bridge has no AccountStatus and the
	// account was derived from the granted scopes alone.
	AccountKnown bool
	// PairingURL is https://tesla.com/_ak/<domain> ("" without a domain).
	PairingURL string
	Devices    []DeviceStatus
	Spend      Spend
}

// DeviceStatus is one car or energy site as the status page shows it.
type DeviceStatus struct {
	// Name is the topic segment; Label what Tesla calls the device.
	Name, Label, Kind, ID, Model string
	// FleetState is online, asleep or offline for cars ("" for sites).
	FleetState string
	// KeyPaired is nil when the pairing is not known (yet).
	KeyPaired *bool
	// CommandSigning is required, allowed or off as far as known.
	CommandSigning  string
	SigningRequired bool
	// PairingURL is the car's own pairing link (with ?vin=).
	PairingURL string
	LastResult *command.Result
	// LastError is the last Fleet error of a read ("" after a success).
	LastError string
	// LastPoll is the time of the last successful read (zero: none yet).
	LastPoll time.Time
	// Readings are a few headline values (battery level, charge limit…).
	Readings []Reading
}

// Reading is one headline value with its display name and unit.
type Reading struct {
	Key, Name, Unit string
	Value           any
}

// Spend is what the Fleet API calls so far cost, estimated from Tesla's
// published prices. BudgetUSD is zero until a budget is configured.
type Spend struct {
	// Billable counts billable responses by billing category.
	Billable     map[string]int
	EstimatedUSD float64
	BudgetUSD    float64
	// Month, ProjectedUSD and Stretch come from the budget when one is
	// configured: this month's spend (EstimatedUSD then), the month-end
	// projection and how much polling is stretched to stay inside it.
	Month        string
	ProjectedUSD float64
	Stretch      int
}

// AccountStatus tells the bridge about the Tesla account behind it: the
// token's scopes, region and expiry, and whether a new login is needed.
// cmd implements it on top of fleet.TokenSource.
type AccountStatus interface {
	AccountState() AccountState
}

// AccountState is one snapshot of the account.
type AccountState struct {
	// Region is "na", "eu" or "cn" ("" before a login).
	Region string
	// APIBaseURL is the Fleet API host in use.
	APIBaseURL string
	// GrantedScopes are the scopes of the current access token (scp).
	GrantedScopes []string
	// WantedScopes are the scopes the config asks for.
	WantedScopes []string
	// TokenExpiry is the access token's expiry (zero before a login).
	TokenExpiry time.Time
	// LoginRequired is set when there is no token or Tesla refused the
	// refresh token; LoginError says why (never a token).
	LoginRequired bool
	LoginError    string
	// LoginCommand is what the user runs to log in again.
	LoginCommand string
	// ConsentURL is where the user changes the granted scopes.
	ConsentURL string
}

// Account event types on <base>/bridge/event.
const (
	EventLoginRequired  = "login_required"
	EventTokenRefreshed = "token_refreshed"
	EventScopesChanged  = "scopes_changed"
)

// AccountEvent is one message on <base>/bridge/event (not retained).
type AccountEvent struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
	// Source of a token_refreshed: "refresh" or "login".
	Source       string   `json:"source,omitempty"`
	Expiry       string   `json:"token_expiry,omitempty"`
	Added        []string `json:"added,omitempty"`
	Removed      []string `json:"removed,omitempty"`
	Missing      []string `json:"missing_scopes,omitempty"`
	LoginCommand string   `json:"login_command,omitempty"`
	ConsentURL   string   `json:"consent_url,omitempty"`
	At           string   `json:"at"`
}

// MissingScope is a scope the config wants and the token lacks, with what
// its absence disables.
type MissingScope struct {
	Scope    string `json:"scope"`
	Title    string `json:"title,omitempty"`
	Disables string `json:"disables,omitempty"`
}

// AccountInfo is the "account" object of bridge/info and the retained
// payload of <base>/bridge/status.
type AccountInfo struct {
	LoginNeeded   bool           `json:"login_needed"`
	LoginError    string         `json:"login_error,omitempty"`
	LoginCommand  string         `json:"login_command,omitempty"`
	Region        string         `json:"region,omitempty"`
	APIBaseURL    string         `json:"api_base_url,omitempty"`
	TokenExpiry   *string        `json:"token_expiry"`
	GrantedScopes []string       `json:"granted_scopes"`
	MissingScopes []MissingScope `json:"missing_scopes"`
	MissingCount  int            `json:"missing_scope_count"`
	ConsentURL    string         `json:"consent_url,omitempty"`
	// Problem is the account's dead end (not registered in the region,
	// wrong region, billing limit, app disabled, payment required), null
	// when there is none.
	Problem *AccountProblem `json:"problem"`
}

// AccountProblem is an account-level dead end on bridge/status: what Tesla
// answered, what to do, and when the bridge tries again (its back-off
// doubles from 30 s to 30 min; the first success clears it).
type AccountProblem struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Remedy    string `json:"remedy"`
	URL       string `json:"url,omitempty"`
	Since     string `json:"since"`
	NextRetry string `json:"next_retry"`
	Failures  int    `json:"failures"`
}

// EventDeviceRemoved is the bridge/event type for a device that left the
// account; a device that comes back is announced as EventDeviceAdded.
const (
	EventDeviceRemoved = "device_removed"
	EventDeviceAdded   = "device_added"
)
