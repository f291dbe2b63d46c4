package command

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/entity"
)

// Item is one key/value of a set message, in the order the user wrote them.
type Item struct {
	Key   string
	Value any
	// Expiry is the sender's own deadline, shared by every key of the
	// message (expiry.go).
	Expiry Expiry
}

// invalid builds an invalid_payload error.
func invalid(format string, a ...any) *entity.PayloadError {
	return &entity.PayloadError{Code: CodeInvalidPayload, Message: fmt.Sprintf(format, a...)}
}

// ParseKey parses the payload of set/<key>: a bare value ("80", "ON",
// "PRESS", an option), a JSON scalar, or {"value": …, "transaction": …} for
// clients that want a transaction id on a single key.
func ParseKey(key string, payload []byte) ([]Item, any, *entity.PayloadError) {
	if perr := checkSize(payload, key); perr != nil {
		return nil, nil, perr
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return nil, nil, &entity.PayloadError{Code: CodeInvalidPayload, Message: fmt.Sprintf("empty payload for %s", key)}
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
		var ex Expiry
		for _, name := range []string{keyExpiresAt, keyTTL} {
			if raw, ok := obj[name]; ok {
				var rv any
				_ = json.Unmarshal(raw, &rv)
				if perr := ex.set(name, plainNumbers(rv)); perr != nil {
					return nil, tr, perr
				}
			}
		}
		return []Item{{Key: key, Value: v, Expiry: ex}}, tr, nil
	}
	var v any
	if err := json.Unmarshal(p, &v); err == nil {
		switch v.(type) {
		case string, bool, float64:
			return []Item{{Key: key, Value: v}}, nil, nil
		}
	}
	return []Item{{Key: key, Value: string(p)}}, nil, nil
}

// ParseObject parses the payload of set: a JSON object of keys, with
// an optional transaction, keeping the order the keys were written in (so
// {"climate":"heat_cool","driver_temp":22} turns climate on first).
func ParseObject(payload []byte) ([]Item, any, *entity.PayloadError) {
	if perr := checkSize(payload, ""); perr != nil {
		return nil, nil, perr
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, invalid(`the payload of set must be a JSON object such as {"charge_limit": 80}`)
	}
	var items []Item
	var tr any
	var ex Expiry
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, invalid("payload is not valid JSON: %v", err)
		}
		key, _ := kt.(string)
		if len(key) > MaxKeyLen {
			return nil, tr, invalid("key %s is longer than %d bytes", ShortKey(key), MaxKeyLen)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, invalid("value of %q is not valid JSON: %v", key, err)
		}
		v = plainNumbers(v)
		switch key {
		case "transaction":
			tr = v
			continue
		case keyExpiresAt, keyTTL:
			if perr := ex.set(key, v); perr != nil {
				return nil, tr, perr
			}
			continue
		}
		if len(items) == MaxKeys {
			return nil, tr, invalid("a set message may name at most %d keys", MaxKeys)
		}
		items = append(items, Item{Key: key, Value: v})
	}
	for i := range items {
		items[i].Expiry = ex
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
