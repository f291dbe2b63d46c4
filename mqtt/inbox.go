package mqtt

import (
	"slices"
	"strings"
	"sync"
)

// Inbound messages wait in lanes, one per value of a subscription's first
// "+" wildcard (per device, for a filter such as base/+/set), and the
// dispatcher serves the lanes in turn. A flood on one lane therefore fills
// only that lane: it can delay or drop its own messages, never another
// lane's. A message that finds no room is not lost silently: it becomes a
// drop notice (Message.Dropped, the payload cut short) that its handler
// gets in the lane's turn, so the sender can be told.

const (
	defaultLaneSize = 64
	// noticeKeep is how much of a dropped message's payload its notice
	// keeps: enough for a handler to find a short id near the start (a
	// transaction), little enough that a flood of large messages does not
	// hold their memory.
	noticeKeep = 512
	// queueBytes bounds the payloads and topics waiting over all lanes.
	queueBytes = 32 << 20
	// noticeBytes bounds the memory of all drop notices together (topics
	// included, which may be long); past it a dropped message is only
	// counted.
	noticeBytes = 4 << 20
)

// inbox is the client's inbound queue. put runs on paho's goroutine and
// never blocks; take runs on the dispatcher.
type inbox struct {
	laneSize, total, maxBytes int

	mu    sync.Mutex
	lanes map[string]*lane
	ring  []*lane // lanes with something to hand over, in turn order
	// queued and bytes count the messages waiting over all lanes;
	// noticeMem the drop notices' memory.
	queued, bytes, noticeMem int
	// lost counts dropped messages that got no notice, since last read.
	lost int
	// signal (cap 1) wakes the dispatcher when something was put.
	signal chan struct{}
}

// lane is one lane's messages and drop notices, in arrival order each.
type lane struct {
	key     string
	msgs    []Message
	notices []Message
	// noticeTurn alternates a lane's turns between a message and a
	// notice when it has both, so notices are answered during a flood.
	noticeTurn bool
	// inRing: the lane waits for its turn.
	inRing bool
}

func newInbox(laneSize, total, maxBytes int) *inbox {
	return &inbox{laneSize: laneSize, total: total, maxBytes: maxBytes,
		lanes: map[string]*lane{}, signal: make(chan struct{}, 1)}
}

// put queues m on lane key, or keeps a drop notice of it when the lane is
// full. When the whole inbox is full but this lane is not among the
// longest, the newest message of the longest lane makes room instead: a
// message for a quiet lane always gets in.
func (q *inbox) put(key string, m Message) {
	q.mu.Lock()
	l := q.lanes[key]
	if l == nil {
		l = &lane{key: key}
		q.lanes[key] = l
	}
	size := len(m.Topic) + len(m.Payload)
	if len(l.msgs) < q.laneSize && (q.queued >= q.total || q.bytes+size > q.maxBytes) {
		q.evictLonger(len(l.msgs))
	}
	if len(l.msgs) < q.laneSize && q.queued < q.total && q.bytes+size <= q.maxBytes {
		l.msgs = append(l.msgs, m)
		q.queued++
		q.bytes += size
	} else {
		q.noteDrop(l, m)
	}
	q.schedule(l)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// evictLonger turns the newest message of the longest lane into a drop
// notice, if that lane holds more than n messages. Callers hold q.mu.
func (q *inbox) evictLonger(n int) {
	var longest *lane
	for _, l := range q.lanes {
		if len(l.msgs) > n && (longest == nil || len(l.msgs) > len(longest.msgs)) {
			longest = l
		}
	}
	if longest == nil {
		return
	}
	last := longest.msgs[len(longest.msgs)-1]
	longest.msgs = longest.msgs[:len(longest.msgs)-1]
	q.queued--
	q.bytes -= len(last.Topic) + len(last.Payload)
	q.noteDrop(longest, last)
}

// noteDrop keeps a notice of m on l, or counts it as lost when the
// notices' memory is spent. Callers hold q.mu.
func (q *inbox) noteDrop(l *lane, m Message) {
	n := Message{Topic: m.Topic, Retained: m.Retained, Dropped: true}
	n.Payload = slices.Clone(m.Payload[:min(len(m.Payload), noticeKeep)])
	size := len(n.Topic) + len(n.Payload)
	if q.noticeMem+size > noticeBytes {
		q.lost++
		return
	}
	q.noticeMem += size
	l.notices = append(l.notices, n)
}

// schedule puts l in the turn order if it has something and is not there.
// Callers hold q.mu.
func (q *inbox) schedule(l *lane) {
	if l.inRing {
		return
	}
	if len(l.msgs)+len(l.notices) == 0 {
		delete(q.lanes, l.key) // lanes live while they hold something
		return
	}
	l.inRing = true
	q.ring = append(q.ring, l)
}

// take hands over the next lane's next message or notice; false when
// nothing waits.
func (q *inbox) take() (Message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ring) == 0 {
		return Message{}, false
	}
	l := q.ring[0]
	q.ring = q.ring[1:]
	l.inRing = false
	var m Message
	if len(l.notices) > 0 && (l.noticeTurn || len(l.msgs) == 0) {
		m, l.notices = l.notices[0], l.notices[1:]
		q.noticeMem -= len(m.Topic) + len(m.Payload)
	} else {
		m, l.msgs = l.msgs[0], l.msgs[1:]
		q.queued--
		q.bytes -= len(m.Topic) + len(m.Payload)
	}
	l.noticeTurn = !l.noticeTurn
	q.schedule(l)
	return m, true
}

// takeLost returns how many dropped messages got no notice since the last
// call.
func (q *inbox) takeLost() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.lost
	q.lost = 0
	return n
}

// laneKey is the lane of a topic that filter matched: the topic up to the
// level of the filter's first "+" wildcard, or the filter itself when it
// has none (so base/+/set and base/+/set/+ share a lane per device, and
// homeassistant/status is a lane of its own).
func laneKey(filter, topic string) string {
	fs := strings.Split(filter, "/")
	i := slices.Index(fs, "+")
	if i < 0 {
		return filter
	}
	ts := strings.SplitN(topic, "/", i+2)
	return strings.Join(ts[:min(i+1, len(ts))], "/")
}
