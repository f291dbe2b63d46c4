package bridge

import (
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// onSet handles <base>/<device>/set and <base>/<device>/set/<key>: each key
// becomes a job on the device's command queue, or a result that says why
// it cannot.
func (b *Bridge) onSet(m mqtt.Message) {
	rest := strings.TrimPrefix(m.Topic, b.opts.BaseTopic+"/")
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || parts[1] != "set" {
		return
	}
	name := parts[0]
	d := b.reg.Device(name)
	if d == nil {
		if !b.notMine(name) {
			b.unknownDevice(name, m.Topic, m.Payload)
		}
		return
	}
	var items []command.Item
	var transaction any
	var perr *entity.PayloadError
	if len(parts) == 3 {
		items, transaction, perr = command.ParseKey(parts[2], m.Payload)
	} else {
		items, transaction, perr = command.ParseObject(m.Payload)
	}
	if perr != nil {
		b.publishResult(d, command.Result{Transaction: transaction, Status: command.StatusError,
			Error: &command.ResultError{Code: perr.Code, Message: perr.Message}})
		return
	}
	for i, it := range items {
		b.mu.Lock()
		j, perr := command.Prepare(d.Name(), d.Entity(it.Key), d.View(), it)
		b.mu.Unlock()
		if perr != nil {
			re := &command.ResultError{Code: perr.Code, Message: perr.Message}
			if perr.Code == command.CodeUnknownKey || perr.Code == command.CodeReadOnly {
				b.mu.Lock()
				re.Remedy = command.RemedyFor(d.Name(), d.Rows())
				b.mu.Unlock()
			}
			b.publishResult(d, command.Result{Transaction: transaction, Key: it.Key, Status: command.StatusError, Error: re})
			continue
		}
		j.Transaction, j.More = transaction, i < len(items)-1
		b.exec.Enqueue(target{b, d}, j)
	}
}
