package bridge

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/economy"
)

// host is the bridge as the device registry sees it: what the devices
// learn, published.
type host struct{ b *Bridge }

var _ device.Host = host{}

// State implements device.Host.
func (h host) State(d *device.Device, force bool) { h.b.publishState(d, force) }

// Discovery implements device.Host.
func (h host) Discovery(d *device.Device) { h.b.publishDiscovery(d) }

// Appeared implements device.Host: a device_added event.
func (h host) Appeared(d *device.Device) { h.b.publishDeviceEvent(contract.EventDeviceAdded, d) }

// Added implements device.Host.
func (h host) Added(d *device.Device) { h.b.publishDevice(d) }

// Info implements device.Host.
func (h host) Info() { h.b.publishInfo() }

// Checked implements device.Host: the budget's tick, and the devices'
// memory saved when it changed.
func (h host) Checked(now time.Time) {
	h.b.budgetTick(now)
	h.b.saveMemory()
}

// Within implements device.Host.
func (h host) Within(fn func(ctx context.Context)) bool { return h.b.within(fn) }

// Removed implements device.Host: the device's commands end, and what the
// bridge published for it is cleared: every discovery config (an empty
// retained payload makes Home Assistant delete the entities), the retained
// state, and availability set to offline; then one device_removed event.
func (h host) Removed(d *device.Device) {
	b := h.b
	b.exec.Remove(target{b, d})
	s := b.subject(d)
	topics := b.disc.Drop(s, false)
	b.mu.Lock()
	b.memo(d).gone = true
	delete(b.lastRefresh, d.Name())
	b.mu.Unlock()
	b.log.Info().Str("device", d.Name()).Str("id", d.UID()).Msg("device removed: no longer in the account")
	b.publish(s.Topics.Availability, []byte("offline"), true)
	b.clearRetained(topics...)
	// An empty device config removes the device and all its entities.
	b.clearRetained(b.disc.ConfigTopic(d.UID()), s.Topics.State)
	b.publishDeviceEvent(contract.EventDeviceRemoved, d)
}

// Paused implements device.Host: the pause on bridge/event and
// bridge/info.
func (h host) Paused(now, until time.Time, err error) {
	b := h.b
	ev := economy.BudgetEvent{Type: economy.EventPollingPaused, Message: "Tesla answered EXCEEDED_LIMIT: polling paused for 15 minutes; raise the billing limit on developer.tesla.com",
		Until: until.UTC().Format(time.RFC3339), At: now.UTC().Format(time.RFC3339), Stretch: b.opts.Budget.Stretch()}
	if st := b.opts.Budget.Status(); st != nil {
		ev.SpendUSD, ev.ProjectedUSD, ev.BudgetUSD = st.SpendUSD, st.ProjectedUSD, st.BudgetUSD
	}
	b.publishBudgetEvent(ev)
	b.publishInfoOnly()
}

// Problem implements device.Host: an account dead end on bridge/event,
// bridge/status and bridge/info.
func (h host) Problem(p *economy.Problem, fresh bool) { h.b.announceProblem(p, fresh) }

// ProblemCleared implements device.Host.
func (h host) ProblemCleared(p *economy.Problem) { h.b.announceCleared(p) }

// publishDeviceEvent publishes a device event on <base>/bridge/event.
func (b *Bridge) publishDeviceEvent(typ string, d *device.Device) {
	payload, err := json.Marshal(deviceEvent{Type: typ, Device: d.Name(), ID: d.UID(), At: b.now().UTC().Format("2006-01-02T15:04:05Z")})
	if err == nil {
		b.publish(b.opts.BaseTopic+"/bridge/event", payload, false)
	}
}
