package bridge

import (
	"context"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Pause stops polling until now+d (Tesla answered EXCEEDED_LIMIT). It
// reports whether this started a new pause, so the caller announces it once.
func (b *Budget) Pause(now time.Time, d time.Duration, reason string) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	fresh := b.st.Paused == nil || !now.Before(b.st.Paused.Until)
	if fresh {
		b.st.Paused = &budgetPaused{Until: now.Add(d), Reason: reason}
		b.dirty = true
	}
	return fresh
}

// PausedUntil returns the end of the current pause, or zero.
func (b *Budget) PausedUntil(now time.Time) time.Time {
	if b == nil {
		return time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	if p := b.st.Paused; p != nil && now.Before(p.Until) {
		return p.Until
	}
	return time.Time{}
}

// Blocked reports whether the hard cap refuses commands now.
func (b *Budget) Blocked() bool {
	if b == nil || !b.opts.HardCap || b.opts.MonthlyUSD <= 0 {
		return false
	}
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(now)
	return b.st.SpendUSD >= b.opts.MonthlyUSD
}

// errHardCap is returned for commands and wakes refused by the hard cap; it
// is an EXCEEDED_LIMIT so the result carries the budget_exceeded code.
func errHardCap(endpoint string) error {
	return &fleet.APIError{Endpoint: endpoint, Kind: fleet.ErrExceededLimit,
		Message: "refused by tesla2mqtt: this month's spend reached [budget] monthly_usd and hard_cap is on"}
}

// budgetGuard refuses commands and wakes through the REST API once the hard
// cap is reached; reads pass (polling is stretched instead).
type budgetGuard struct {
	FleetAPI
	b *Budget
}

func (g budgetGuard) WakeUp(ctx context.Context, vin string) (*fleet.Vehicle, error) {
	if g.b.Blocked() {
		return nil, errHardCap(fleet.CallWakeUp)
	}
	return g.FleetAPI.WakeUp(ctx, vin)
}

func (g budgetGuard) Command(ctx context.Context, vin, name string, params map[string]any) (*fleet.CommandResult, error) {
	if g.b.Blocked() {
		return nil, errHardCap(fleet.CallCommand)
	}
	return g.FleetAPI.Command(ctx, vin, name, params)
}

func (g budgetGuard) EnergyCommand(ctx context.Context, siteID int64, name string, body map[string]any) error {
	if g.b.Blocked() {
		return errHardCap(fleet.CallEnergyCommand)
	}
	return g.FleetAPI.EnergyCommand(ctx, siteID, name, body)
}

// budgetCommander applies the hard cap to a Commander (the signed path).
type budgetCommander struct {
	Commander
	b *Budget
}

func (c budgetCommander) VehicleCommand(ctx context.Context, vin string, cmd fleet.Command) (*fleet.CommandResult, error) {
	if c.b.Blocked() {
		return nil, errHardCap(fleet.CallCommand)
	}
	return c.Commander.VehicleCommand(ctx, vin, cmd)
}

// guardCommander wraps c, keeping its SigningObserver side (pairing looks
// for it) when it has one.
func guardCommander(c Commander, b *Budget) Commander {
	bc := budgetCommander{c, b}
	if obs, ok := c.(SigningObserver); ok {
		return struct {
			budgetCommander
			SigningObserver
		}{bc, obs}
	}
	return bc
}
