package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// A set message becomes one job per key. Parsing happens on the MQTT
// dispatch goroutine and is cheap; execution happens on the device's own
// worker, one command at a time per device, so a slow car never blocks
// another car or the MQTT connection.
type job struct {
	key         string
	cmd         fleet.Command
	group       string
	scopes      []string
	source      fleet.Endpoint
	transaction any
}

// setItem is one key/value of a set message, in the order the user wrote them.
type setItem struct {
	key   string
	value any
}

// subscribeSet registers the set topics.
func (b *Bridge) subscribeSet() error {
	base := b.opts.BaseTopic
	for _, t := range []string{base + "/+/set", base + "/+/set/+"} {
		if err := b.pub.Subscribe(t, b.onSet); err != nil {
			return fmt.Errorf("subscribe %s: %w", t, err)
		}
	}
	return nil
}

// onSet handles <base>/<device>/set and <base>/<device>/set/<key>.
func (b *Bridge) onSet(m mqtt.Message) {
	rest := strings.TrimPrefix(m.Topic, b.opts.BaseTopic+"/")
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || parts[1] != "set" {
		return
	}
	name := parts[0]
	b.mu.Lock()
	d := b.devices[name]
	b.mu.Unlock()
	if d == nil {
		b.log.Info().Str("device", name).Msg("set message for an unknown device ignored")
		return
	}
	var items []setItem
	var transaction any
	var perr *PayloadError
	if len(parts) == 3 {
		items, transaction, perr = parseKeyPayload(parts[2], m.Payload)
	} else {
		items, transaction, perr = parseObjectPayload(m.Payload)
	}
	if perr != nil {
		b.publishResult(d, Result{Transaction: transaction, Status: StatusError,
			Error: &ResultError{Code: perr.Code, Message: perr.Message}})
		return
	}
	for _, it := range items {
		j, perr := b.prepare(d, it)
		if perr != nil {
			re := &ResultError{Code: perr.Code, Message: perr.Message}
			if perr.Code == CodeUnknownKey || perr.Code == CodeReadOnly {
				re.Remedy = payloadRemedy(b, d)
			}
			b.publishResult(d, Result{Transaction: transaction, Key: it.key, Status: StatusError, Error: re})
			continue
		}
		j.transaction = transaction
		b.enqueue(d, j)
	}
}

// prepare turns one key/value into a job through the device's table, or
// refuses it without calling Tesla.
func (b *Bridge) prepare(d *device, it setItem) (job, *PayloadError) {
	b.mu.Lock()
	e := d.entity(it.key)
	var cmd fleet.Command
	var err error
	if e != nil && e.command != nil {
		cmd, err = safeCommand(e.command, it.value)
	}
	b.mu.Unlock()
	switch {
	case e == nil:
		return job{}, &PayloadError{Code: CodeUnknownKey, Message: fmt.Sprintf("%s has no entity %q", d.name, it.key)}
	case e.command == nil:
		return job{}, &PayloadError{Code: CodeReadOnly, Message: fmt.Sprintf("%q is read-only", it.key)}
	case err != nil:
		var pe *PayloadError
		if errors.As(err, &pe) {
			return job{}, pe
		}
		return job{}, invalid("%s: %v", it.key, err)
	}
	group := e.group
	if e.groupOf != nil {
		if g := e.groupOf(cmd); g != "" {
			group = g
		}
	}
	return job{key: it.key, cmd: cmd, group: group, scopes: e.cmdScopes, source: e.source}, nil
}

// safeCommand runs an adapter and turns a panic on odd input into an error:
// a payload must never take the bridge down.
func safeCommand(f func(any) (fleet.Command, error), v any) (cmd fleet.Command, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = invalid("cannot use %v: %v", v, r)
		}
	}()
	return f(v)
}

// parseKeyPayload parses the payload of set/<key>: a bare value ("80", "ON",
// "PRESS", an option), a JSON scalar, or {"value": …, "transaction": …} for
// clients that want a transaction id on a single key.
func parseKeyPayload(key string, payload []byte) ([]setItem, any, *PayloadError) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return nil, nil, &PayloadError{Code: CodeInvalidPayload, Message: fmt.Sprintf("empty payload for %s", key)}
	}
	if p[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p, &obj); err != nil {
			return nil, nil, invalid("payload for %s is not valid JSON: %v", key, err)
		}
		var tr any
		if raw, ok := obj["transaction"]; ok {
			_ = json.Unmarshal(raw, &tr)
		}
		raw, ok := obj["value"]
		if !ok {
			return nil, tr, invalid(`a JSON payload on set/%s needs a "value" key`, key)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, tr, invalid("value for %s: %v", key, err)
		}
		return []setItem{{key, v}}, tr, nil
	}
	var v any
	if err := json.Unmarshal(p, &v); err == nil {
		switch v.(type) {
		case string, bool, float64:
			return []setItem{{key, v}}, nil, nil
		}
	}
	return []setItem{{key, string(p)}}, nil, nil
}

// parseObjectPayload parses the payload of set: a JSON object of keys, with
// an optional transaction, keeping the order the keys were written in (so
// {"climate":"heat_cool","driver_temp":22} turns climate on first).
func parseObjectPayload(payload []byte) ([]setItem, any, *PayloadError) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, invalid(`the payload of set must be a JSON object such as {"charge_limit": 80}`)
	}
	var items []setItem
	var tr any
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, invalid("payload is not valid JSON: %v", err)
		}
		key, _ := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, invalid("value of %q is not valid JSON: %v", key, err)
		}
		v = plainNumbers(v)
		if key == "transaction" {
			tr = v
			continue
		}
		items = append(items, setItem{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, tr, invalid("payload is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, tr, invalid("payload has data after the JSON object")
	}
	if len(items) == 0 {
		return nil, tr, invalid("the set object names no entity key")
	}
	return items, tr, nil
}

// plainNumbers turns json.Number into float64 so adapters see one number type.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	}
	return v
}

// payloadRemedy lists the writable keys, the most useful hint for a bad set message.
func payloadRemedy(b *Bridge, d *device) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for _, e := range d.entities {
		if e.command != nil {
			keys = append(keys, e.key)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return "writable keys of " + d.name + ": " + strings.Join(keys, ", ")
}
