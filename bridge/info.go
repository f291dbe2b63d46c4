package bridge

import (
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// info builds the bridge/info payload.
func (b *Bridge) info() contract.Info {
	inf := contract.Info{Version: b.opts.Version, At: b.now().UTC().Format(time.RFC3339), Devices: []contract.DeviceInfo{}}
	for _, d := range b.reg.Devices() {
		b.mu.Lock()
		hd, facts := d.HassDevice(), d.Facts()
		di := contract.DeviceInfo{Name: d.Name(), Kind: d.Kind(), ID: d.UID(), Model: hd.Model,
			Label: hd.Name, State: facts.State, Error: d.LastError()}
		b.mu.Unlock()
		if facts.Polling != "" {
			if inf.Polling == nil {
				inf.Polling = map[string]string{}
			}
			inf.Polling[d.Name()] = facts.Polling
		}
		inf.Devices = append(inf.Devices, di)
	}
	inf.Account = b.accountInfo()
	inf.Budget = b.opts.Budget.Status()
	if b.opts.Budget.Prices().Connectivity > 0 {
		_, _, cadence := b.reg.CheckPace(b.opts.Budget.Stretch())
		inf.ConnectivityCheck = &cadence
	}
	if inf.Budget == nil {
		if until := b.pauser.PausedUntil(b.now()); !until.IsZero() {
			inf.Budget = &economy.BudgetStatus{PausedUntil: until.UTC().Format(time.RFC3339), PauseReason: "EXCEEDED_LIMIT", Stretch: 1}
		}
	}
	if m := b.opts.Meter; m != nil {
		r := &contract.Requests{Billable: map[string]int{}, ByEndpoint: m.Total()}
		for c, n := range m.Billable() {
			r.Billable[string(c)] = n
		}
		inf.Requests = r
	}
	return inf
}

// publishInfo publishes the retained bridge/info, and the account's
// bridge/status and bridge device when an account is attached.
func (b *Bridge) publishInfo() {
	inf := b.info()
	payload, err := json.Marshal(inf)
	if err != nil {
		b.log.Error().Err(err).Msg("cannot encode bridge info")
		return
	}
	b.publish(b.bridgeTopic("info"), payload, true)
	b.publishAccount(inf.Account)
	if b.opts.Discovery && b.opts.Budget != nil && b.answersUnknown() {
		b.disc.OfferBudget(b.publish) // in device mode, OfferBridge's config has them
	}
}

// publishInfoOnly republishes bridge/info alone (no discovery): the budget
// tick keeps the spend sensors current with it.
func (b *Bridge) publishInfoOnly() {
	payload, err := json.Marshal(b.info())
	if err != nil {
		return
	}
	b.mu.Lock()
	b.lastInfo = b.now()
	b.mu.Unlock()
	b.publish(b.bridgeTopic("info"), payload, true)
}

// budgetInfoEvery spaces the budget's bridge/info updates.
const budgetInfoEvery = 5 * time.Minute

// budgetTick runs on every connectivity check: it steps the polling
// stretch, announces budget events, saves the counters and refreshes
// bridge/info every few minutes.
func (b *Bridge) budgetTick(now time.Time) {
	bud := b.opts.Budget
	if bud == nil {
		return
	}
	events := bud.Evaluate(now)
	for _, ev := range events {
		b.log.Warn().Str("event", ev.Type).Float64("spend_usd", ev.SpendUSD).Float64("projected_usd", ev.ProjectedUSD).Msg(ev.Message)
		b.publishBudgetEvent(ev)
	}
	if err := bud.Save(); err != nil {
		b.log.Warn().Err(err).Msg("cannot save the budget counters")
	}
	b.mu.Lock()
	due := now.Sub(b.lastInfo) >= budgetInfoEvery
	b.mu.Unlock()
	if due || len(events) > 0 {
		b.publishInfoOnly()
	}
}

// publishBudgetEvent publishes one event on <base>/bridge/event.
func (b *Bridge) publishBudgetEvent(ev economy.BudgetEvent) {
	if payload, err := json.Marshal(ev); err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
}
