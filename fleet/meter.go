package fleet

import (
	"sort"
	"sync"
	"time"
)

// Category is a Fleet API billing category.
type Category string

// Billing categories (FLEET_API.md §6.1). Free covers calls Tesla does not
// bill or that the bridge treats as unbilled by default (the connectivity
// check, auth, region, fleet_status); a price table may still price them.
const (
	CategoryData      Category = "data"
	CategoryCommand   Category = "command"
	CategoryWake      Category = "wake"
	CategoryStreaming Category = "streaming"
	CategoryFree      Category = "free"
)

// Billable reports whether Tesla bills a response with this status: every
// response below 500 is billable, errors, 408s and 429s included.
func Billable(status int) bool { return status > 0 && status < 500 }

// Recorder receives one call per Fleet API response (or failed attempt).
// The bridge implements budgets on top of it; the Meter below is the
// default in-memory implementation.
type Recorder interface {
	Record(r Request)
}

// Request describes one metered Fleet API response.
type Request struct {
	Endpoint string   // metering name: "vehicles", "vehicle_data", "wake_up", "command", "live_status"…
	Category Category // billing category
	Status   int      // HTTP status, 0 when no response arrived
	Device   string   // VIN or energy site id, "" for account-level calls
	At       time.Time
	Duration time.Duration
}

// Billable reports whether Tesla bills this response.
func (r Request) Billable() bool { return Billable(r.Status) }

// MeterKey groups counters.
type MeterKey struct {
	Endpoint string
	Category Category
	Status   int
}

// Meter counts responses by endpoint, category and status. Safe for concurrent use.
type Meter struct {
	mu     sync.Mutex
	counts map[MeterKey]int
}

// NewMeter returns an empty meter.
func NewMeter() *Meter { return &Meter{counts: map[MeterKey]int{}} }

// Record implements Recorder.
func (m *Meter) Record(r Request) {
	m.mu.Lock()
	m.counts[MeterKey{r.Endpoint, r.Category, r.Status}]++
	m.mu.Unlock()
}

// MeterCount is one row of a meter snapshot.
type MeterCount struct {
	MeterKey
	Count int
}

// Snapshot returns the counters sorted by endpoint, category and status.
func (m *Meter) Snapshot() []MeterCount {
	m.mu.Lock()
	out := make([]MeterCount, 0, len(m.counts))
	for k, n := range m.counts {
		out = append(out, MeterCount{k, n})
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Endpoint != b.Endpoint {
			return a.Endpoint < b.Endpoint
		}
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		return a.Status < b.Status
	})
	return out
}

// Billable returns the number of billable responses per category.
func (m *Meter) Billable() map[Category]int {
	out := map[Category]int{}
	m.mu.Lock()
	for k, n := range m.counts {
		if Billable(k.Status) {
			out[k.Category] += n
		}
	}
	m.mu.Unlock()
	return out
}

// Total returns the number of responses (billable or not) per endpoint.
func (m *Meter) Total() map[string]int {
	out := map[string]int{}
	m.mu.Lock()
	for k, n := range m.counts {
		out[k.Endpoint] += n
	}
	m.mu.Unlock()
	return out
}

// MultiRecorder fans one record out to several recorders.
type MultiRecorder []Recorder

// Record implements Recorder.
func (mr MultiRecorder) Record(r Request) {
	for _, x := range mr {
		if x != nil {
			x.Record(r)
		}
	}
}

var (
	_ Recorder = (*Meter)(nil)
	_ Recorder = MultiRecorder(nil)
)
