package bridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/command"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// What every command topic (set, set/<key>, get, bridge/request/<action>)
// passes before its handler: a command is meant by someone now, so a
// retained message (the broker's memory, replayed on every connect) is
// never executed, and a message the MQTT client had to drop is answered
// as overloaded rather than lost.

// kinds of command topic, for the answers the intake gives.
const (
	intakeSet     = "set"
	intakeGet     = "get"
	intakeRequest = "request"
)

// retainedMemo bounds the retained messages remembered as answered.
const retainedMemo = 1024

// guarded wraps h, the handler of one kind of command topic.
func (b *Bridge) guarded(kind string, h mqtt.Handler) mqtt.Handler {
	return func(m mqtt.Message) {
		switch {
		case b.forOthers(kind, m):
			// Another shard's device, or another instance answers it.
		case m.Retained:
			b.retainedIgnored(kind, m)
		case m.Dropped:
			b.overloaded(kind, m)
		case len(m.Payload) == 0 && b.echoOfClear(m.Topic):
			// Our own clearing of a retained message, delivered back.
		default:
			h(m)
		}
	}
}

// forOthers reports whether a command message of kind (intake.go) is left
// to another instance: every instance receives every command topic. A
// set or get, retained or not, is its device's owner's, which answers it
// (and clears it, when retained). A bridge request is every instance's
// (each carries it out for its own devices), but a retained one is
// answered and cleared by instance 0 alone: the others only expect the
// echo of that clearing, an empty message that must not run as a request.
func (b *Bridge) forOthers(kind string, m mqtt.Message) bool {
	if !b.opts.Shard.Sharded() {
		return false
	}
	if kind == intakeRequest {
		if m.Retained && !b.answersUnknown() {
			b.expectClear(m.Topic)
			return true
		}
		return false
	}
	name, _ := b.commandTopic(kind, m.Topic)
	return b.notMine(name)
}

// retainedIgnored answers a retained command message with
// retained_ignored, once per message, and clears it on the broker so that
// no later connect hands it over again.
func (b *Bridge) retainedIgnored(kind string, m mqtt.Message) {
	b.expectClear(m.Topic)
	b.publish(m.Topic, nil, true)
	sum := sha256.Sum256(append([]byte(m.Topic+"\x00"), m.Payload...))
	b.mu.Lock()
	seen := b.retainedSeen[sum]
	if !seen {
		if len(b.retainedSeen) >= retainedMemo {
			clear(b.retainedSeen)
		}
		b.retainedSeen[sum] = true
	}
	b.mu.Unlock()
	if seen {
		return
	}
	name, key := b.commandTopic(kind, m.Topic)
	b.reject(name, command.CodeRetainedIgnored).Str("topic", short(m.Topic)).
		Msg("retained command message ignored and cleared: a command is never taken from the broker's memory")
	b.answer(kind, m, name, key, &command.ResultError{Code: command.CodeRetainedIgnored,
		Message: "the message was retained on the broker, so it may be old; it was not executed and the bridge cleared it",
		Remedy:  "publish commands without the retain flag (mosquitto_pub without -r, Node-RED retain false)"})
}

// expectClear notes that an empty message on topic will be the echo of a
// clearing of a retained message there (ours, or instance 0's for a
// sharded bridge request).
func (b *Bridge) expectClear(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.clearing) >= retainedMemo {
		clear(b.clearing)
	}
	b.clearing[topic]++
}

// echoOfClear reports whether an empty message on topic is the broker
// handing back the bridge's own clearing of a retained message there
// (once per clearing): executing it would run an empty get or request.
func (b *Bridge) echoOfClear(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clearing[topic] == 0 {
		return false
	}
	if b.clearing[topic]--; b.clearing[topic] == 0 {
		delete(b.clearing, topic)
	}
	return true
}

// overloaded answers a message the MQTT client dropped because its
// device's lane was full.
func (b *Bridge) overloaded(kind string, m mqtt.Message) {
	name, key := b.commandTopic(kind, m.Topic)
	b.reject(name, command.CodeOverloaded).Msg("message dropped: too many messages for this device at once")
	b.answer(kind, m, name, key, &command.ResultError{Code: command.CodeOverloaded,
		Message: "too many messages arrived for " + name + " at once; this one was dropped unread and nothing was sent",
		Remedy:  "send fewer messages at once, and wait for each command's result"})
}

// answer publishes a refusal where the sender of m looks for it: a
// command result on the device's result topic, or a bridge response.
func (b *Bridge) answer(kind string, m mqtt.Message, name, key string, re *command.ResultError) {
	tr := peekTransaction(m.Payload)
	if kind == intakeRequest {
		b.respond(name, contract.Response{Status: "error", Transaction: tr, Error: &contract.ResponseError{Code: re.Code, Message: re.Message}})
		return
	}
	r := command.Result{Transaction: tr, Key: key, Status: command.StatusError, Error: re}
	if kind == intakeGet {
		r.Command = "get"
	}
	if d := b.reg.Device(name); d != nil {
		b.publishResult(d, r)
		return
	}
	// A device the bridge does not know (yet: retained messages arrive
	// before the first product list): the result goes to the topic the
	// sender watches all the same.
	r.At = b.now().UTC().Format("2006-01-02T15:04:05Z")
	if payload, err := json.Marshal(r); err == nil {
		b.publishResultMsg(b.opts.BaseTopic+"/"+name+"/result", payload)
	}
}

// commandTopic splits a command topic into the device's name (the
// action's, for a bridge request) and the key of set/<key>.
func (b *Bridge) commandTopic(kind, topic string) (name, key string) {
	rest := strings.TrimPrefix(topic, b.opts.BaseTopic+"/")
	if kind == intakeRequest {
		return rest[strings.LastIndex(rest, "/")+1:], ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) == 3 && len(parts[2]) <= command.MaxKeyLen {
		key = parts[2]
	}
	return parts[0], key
}

// peekTransaction finds a top-level "transaction" in a JSON object that
// may be cut short (a drop notice keeps only the payload's start); nil
// when there is none before the cut.
func peekTransaction(p []byte) any {
	dec := json.NewDecoder(bytes.NewReader(p))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if kt == "transaction" {
			return v
		}
	}
	return nil
}
