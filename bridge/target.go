package bridge

import (
	"context"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// target is a device as the command executor sees it: the kind sends and
// confirms, the bridge publishes and tells the hooks.
type target struct {
	b *Bridge
	d *device.Device
}

var _ command.Target = target{}

// Name implements command.Target.
func (t target) Name() string { return t.d.Name() }

// UID implements command.Target.
func (t target) UID() string { return t.d.UID() }

// Send implements command.Target: the kind chooses the route.
func (t target) Send(ctx context.Context, cmd fleet.Command) (*fleet.CommandResult, command.Sent, error) {
	return t.d.Send(ctx, cmd)
}

// Publish implements command.Target.
func (t target) Publish(r command.Result) { t.b.publishResult(t.d, r) }

// Settle implements command.Target: the confirming read, then the hooks
// that wait for the device to be ready again.
func (t target) Settle(ctx context.Context, r command.Result, confirm bool) {
	if confirm {
		t.d.Confirm(ctx)
	}
	for _, h := range t.b.opts.Hooks {
		h.OnCommandDone(t.d.Name(), r)
	}
}

// Confirm reads the device once, for a burst of commands whose last job's
// Settle did not (the executor's late read, confirm.go).
func (t target) Confirm(ctx context.Context) { t.d.Confirm(ctx) }
