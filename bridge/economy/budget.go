package economy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// BudgetOptions configure a Budget.
type BudgetOptions struct {
	// MonthlyUSD is the budget; 0 turns budgeting (stretching, events, the
	// hard cap) off while still metering.
	MonthlyUSD float64
	// HardCap refuses commands and wakes once the month's spend reaches the budget.
	HardCap bool
	// Prices are the program's one price table (fleet.Prices).
	Prices fleet.Prices
	// Path is the JSON file the counters persist in ("" = memory only).
	Path string
	// Clock tells which month it is (default: the wall clock).
	Clock clock.Clock
}

// Budget meters every Fleet API response against a monthly budget in USD.
// It is a fleet.Recorder: cmd adds it to the client's recorders, so reads,
// commands, wakes and the fresh read after a command all count, whoever
// made them. Safe for concurrent use; methods on a nil *Budget do nothing.
type Budget struct {
	opts BudgetOptions
	mu   sync.Mutex
	st   budgetState
	// dirty is set when st changed since the last Save.
	dirty bool
	// evaluated is the month of the last Evaluate ("" before the first
	// one on a fresh budget), so a new month is announced once.
	evaluated string
}

// budgetState is what budget.json holds.
type budgetState struct {
	Month    string         `json:"month"` // UTC "2026-11": Tesla bills per calendar month
	SpendUSD float64        `json:"spend_usd"`
	Billable map[string]int `json:"billable"`
	// Since is the first response metered this month; the projection does
	// not extrapolate from less than budgetMinWindow.
	Since         time.Time     `json:"since"`
	Day           string        `json:"day"`
	RequestsToday int           `json:"requests_today"`
	Hours         []budgetHour  `json:"hours"` // trailing 24 h of spend
	Stretch       int           `json:"stretch"`
	SteppedAt     time.Time     `json:"stepped_at"`
	Warned        map[int]bool  `json:"warned"` // percent thresholds already announced
	Paused        *budgetPaused `json:"paused,omitempty"`
	// Days is this month's spend per UTC date ("2026-12-05") and price
	// bucket (fleet.Prices.Bucket), for the status page's chart.
	Days map[string]map[string]float64 `json:"days,omitempty"`
}

type budgetHour struct {
	Hour int64   `json:"hour"` // Unix time / 3600
	USD  float64 `json:"usd"`
}

type budgetPaused struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

const (
	budgetMinWindow = 6 * time.Hour
	// budgetStepEvery spaces stretch steps: the trailing-day projection
	// needs time to show the effect of the previous step.
	budgetStepEvery  = time.Hour
	budgetMaxStretch = 64
)

// NewBudget loads the counters from opts.Path (a missing file starts at
// zero; an unreadable one is reported and replaced).
func NewBudget(opts BudgetOptions) (*Budget, error) {
	opts.Clock = clock.OrReal(opts.Clock)
	b := &Budget{opts: opts}
	b.st = budgetState{Billable: map[string]int{}, Warned: map[int]bool{}, Stretch: 1}
	if opts.Path == "" {
		return b, nil
	}
	raw, err := os.ReadFile(opts.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return b, nil
	case err != nil:
		return b, fmt.Errorf("read budget: %w", err)
	}
	var st budgetState
	if err := json.Unmarshal(raw, &st); err != nil {
		return b, fmt.Errorf("budget file %s is damaged, starting from zero: %w", opts.Path, err)
	}
	if st.Billable == nil {
		st.Billable = map[string]int{}
	}
	if st.Warned == nil {
		st.Warned = map[int]bool{}
	}
	if st.Stretch < 1 {
		st.Stretch = 1
	}
	b.st = st
	b.evaluated = st.Month
	return b, nil
}

// Record implements fleet.Recorder.
func (b *Budget) Record(r fleet.Request) {
	if b == nil {
		return
	}
	at := r.At
	if at.IsZero() {
		at = b.opts.Clock.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(at)
	if !r.Billable() {
		return
	}
	usd := b.opts.Prices.Of(r)
	b.st.Billable[string(r.Category)]++
	b.st.SpendUSD += usd
	b.st.RequestsToday++
	if b.st.Since.IsZero() {
		b.st.Since = at
	}
	if usd > 0 {
		day := at.UTC().Format(time.DateOnly)
		if b.st.Days == nil {
			b.st.Days = map[string]map[string]float64{}
		}
		if b.st.Days[day] == nil {
			b.st.Days[day] = map[string]float64{}
		}
		b.st.Days[day][b.opts.Prices.Bucket(r)] += usd
	}
	h := at.Unix() / 3600
	if n := len(b.st.Hours); n > 0 && b.st.Hours[n-1].Hour == h {
		b.st.Hours[n-1].USD += usd
	} else {
		b.st.Hours = append(b.st.Hours, budgetHour{Hour: h, USD: usd})
	}
	b.dirty = true
}

// rollLocked starts a new month or day when at is in one. It never rolls
// back: a response stamped just before midnight and recorded just after it
// counts in the new month rather than wiping it.
func (b *Budget) rollLocked(at time.Time) {
	u := at.UTC()
	if m := u.Format("2006-01"); m > b.st.Month {
		// Tesla bills and limits per calendar month (UTC): a new month
		// starts at zero spend, at the specs' own pace, with a projection
		// built from this month's spend only, and without the old month's
		// EXCEEDED_LIMIT pause, whose cause was last month's limit.
		stretch := b.st.Stretch
		b.st = budgetState{Month: m, Billable: map[string]int{}, Warned: map[int]bool{}, Stretch: 1}
		if stretch > 1 {
			b.st.SteppedAt = at
		}
		b.dirty = true
	}
	if d := u.Format("2006-01-02"); d > b.st.Day {
		b.st.Day, b.st.RequestsToday = d, 0
		b.dirty = true
	}
	cut := at.Add(-24*time.Hour).Unix() / 3600
	i := 0
	for i < len(b.st.Hours) && b.st.Hours[i].Hour <= cut {
		i++
	}
	if i > 0 {
		b.st.Hours = append([]budgetHour(nil), b.st.Hours[i:]...)
	}
}

// projectedLocked is the month-end spend if the last day's pace holds.
func (b *Budget) projectedLocked(now time.Time) float64 {
	var day float64
	for _, h := range b.st.Hours {
		day += h.USD
	}
	window := 24 * time.Hour
	if !b.st.Since.IsZero() && now.Sub(b.st.Since) < window {
		window = max(now.Sub(b.st.Since), budgetMinWindow)
	}
	u := now.UTC()
	monthEnd := time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	return b.st.SpendUSD + day/window.Hours()*monthEnd.Sub(u).Hours()
}

// BudgetStatus is the "budget" object of bridge/info.
type BudgetStatus struct {
	Month         string         `json:"month"`
	SpendUSD      float64        `json:"spend_usd"`
	ProjectedUSD  float64        `json:"projected_usd"`
	BudgetUSD     float64        `json:"budget_usd"`
	Billable      map[string]int `json:"billable"`
	RequestsToday int            `json:"requests_today"`
	// Stretch multiplies the polling specs' intervals (1 = as configured).
	Stretch int  `json:"stretch"`
	HardCap bool `json:"hard_cap"`
	// PausedUntil is set while polling is paused (Tesla's EXCEEDED_LIMIT).
	PausedUntil string `json:"paused_until,omitempty"`
	PauseReason string `json:"pause_reason,omitempty"`
}

// Status returns the counters as of now.
func (b *Budget) Status() *BudgetStatus {
	if b == nil {
		return nil
	}
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	s := &BudgetStatus{Month: b.st.Month, SpendUSD: round2(b.st.SpendUSD, 4), ProjectedUSD: round2(b.projectedLocked(now), 2),
		BudgetUSD: b.opts.MonthlyUSD, Billable: map[string]int{}, RequestsToday: b.st.RequestsToday,
		Stretch: b.st.Stretch, HardCap: b.opts.HardCap}
	for k, v := range b.st.Billable {
		s.Billable[k] = v
	}
	if p := b.st.Paused; p != nil && now.Before(p.Until) {
		s.PausedUntil, s.PauseReason = p.Until.UTC().Format(time.RFC3339), p.Reason
	}
	return s
}

func round2(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// Budget event types on <base>/bridge/event.
const (
	EventBudgetWarning = "budget_warning" // spend reached 80 %
	EventBudgetReached = "budget_reached" // spend reached 100 %
	EventPollingSlower = "polling_stretched"
	EventPollingFaster = "polling_relaxed"
	EventPollingPaused = "polling_paused"
	// EventBudgetNewMonth: a new billing month started; the spend is back
	// at zero and the old month's stretch and pause are gone.
	EventBudgetNewMonth = "budget_new_month"
)

// BudgetEvent is one budget message on <base>/bridge/event.
type BudgetEvent struct {
	Type         string  `json:"type"`
	Message      string  `json:"message"`
	SpendUSD     float64 `json:"spend_usd"`
	ProjectedUSD float64 `json:"projected_usd"`
	BudgetUSD    float64 `json:"budget_usd"`
	Stretch      int     `json:"stretch"`
	Until        string  `json:"until,omitempty"`
	At           string  `json:"at"`
}

// Evaluate steps the polling stretch (×2 while the projection exceeds the
// budget, ÷2 once it is back under 80 %, at most one step an hour) and
// returns the events due: 80 % and 100 % of the budget spent, once a month.
func (b *Budget) Evaluate(now time.Time) []BudgetEvent {
	if b == nil || b.opts.MonthlyUSD <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	proj := b.projectedLocked(now)
	limit := b.opts.MonthlyUSD
	var out []BudgetEvent
	ev := func(typ, msg string) {
		out = append(out, BudgetEvent{Type: typ, Message: msg, SpendUSD: round2(b.st.SpendUSD, 4), ProjectedUSD: round2(proj, 2),
			BudgetUSD: limit, Stretch: b.st.Stretch, At: now.UTC().Format(time.RFC3339)})
	}
	if b.evaluated != "" && b.st.Month != b.evaluated {
		ev(EventBudgetNewMonth, fmt.Sprintf("the billing month %s started: the Fleet API spend starts again from $0 and polling runs at its configured pace", b.st.Month))
	}
	b.evaluated = b.st.Month
	for _, pct := range []int{80, 100} {
		if b.st.Warned[pct] || b.st.SpendUSD < limit*float64(pct)/100 {
			continue
		}
		b.st.Warned[pct] = true
		b.dirty = true
		if pct == 100 {
			msg := fmt.Sprintf("the Fleet API spend this month reached the budget of $%.2f; polling is slowed down", limit)
			if b.opts.HardCap {
				msg += " and commands are refused (hard cap)"
			}
			ev(EventBudgetReached, msg)
		} else {
			ev(EventBudgetWarning, fmt.Sprintf("the Fleet API spend this month reached %d %% of the $%.2f budget", pct, limit))
		}
	}
	if now.Sub(b.st.SteppedAt) < budgetStepEvery {
		return out
	}
	switch {
	case proj > limit && b.st.Stretch < budgetMaxStretch:
		b.st.Stretch *= 2
		b.st.SteppedAt, b.dirty = now, true
		ev(EventPollingSlower, fmt.Sprintf("the month-end projection $%.2f exceeds the $%.2f budget; polling every %d× the configured interval",
			proj, limit, b.st.Stretch))
	case proj < 0.8*limit && b.st.Stretch > 1:
		b.st.Stretch /= 2
		b.st.SteppedAt, b.dirty = now, true
		ev(EventPollingFaster, fmt.Sprintf("the month-end projection $%.2f is back under the $%.2f budget; polling every %d× the configured interval",
			proj, limit, b.st.Stretch))
	}
	return out
}

// Stretch is the current multiplier of the polling intervals (1 = as configured).
func (b *Budget) Stretch() int {
	if b == nil {
		return 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.st.Stretch, 1)
}

// Save writes the counters atomically (internal/atomicfile: temp file,
// fsync, rename, directory fsync; mode 0600) when they changed since the
// last save.
func (b *Budget) Save() error {
	if b == nil || b.opts.Path == "" {
		return nil
	}
	b.mu.Lock()
	if !b.dirty {
		b.mu.Unlock()
		return nil
	}
	raw, err := json.MarshalIndent(b.st, "", "  ")
	b.dirty = false
	b.mu.Unlock()
	if err != nil {
		return err
	}
	err = atomicfile.Writer{Perm: 0o600, MkdirPerm: 0o700}.Write(b.opts.Path, raw)
	if err != nil {
		b.mu.Lock()
		b.dirty = true
		b.mu.Unlock()
		return fmt.Errorf("save budget: %w", err)
	}
	return nil
}

// Clock is the budget's clock, which must be the bridge's: one month, one
// pause.
func (b *Budget) Clock() clock.Clock { return b.opts.Clock }

// Prices are the budget's price table.
func (b *Budget) Prices() fleet.Prices {
	if b == nil {
		return fleet.Prices{}
	}
	return b.opts.Prices
}

// DaySpend is one UTC day's spend by price bucket.
type DaySpend struct {
	Day time.Time // midnight UTC
	USD map[string]float64
}

// Days returns this month's spend per UTC day, oldest first; days without
// spend are left out. Safe on a nil Budget.
func (b *Budget) Days() []DaySpend {
	if b == nil {
		return nil
	}
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	out := make([]DaySpend, 0, len(b.st.Days))
	for day, usd := range b.st.Days {
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			continue // a hand-edited file; the day is skipped, not the chart
		}
		cp := make(map[string]float64, len(usd))
		for k, v := range usd {
			cp[k] = v
		}
		out = append(out, DaySpend{Day: t, USD: cp})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out
}
