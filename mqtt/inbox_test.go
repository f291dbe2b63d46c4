package mqtt

import (
	"strconv"
	"strings"
	"testing"
)

// takeAll drains q and returns what it handed over, in order.
func takeAll(q *inbox) []Message {
	var out []Message
	for {
		m, ok := q.take()
		if !ok {
			return out
		}
		out = append(out, m)
	}
}

// A flood on one lane fills that lane only: the other lane's messages all
// get in, are handed over within its first turns, and each flooded message
// that found no room comes back as a drop notice with its payload cut
// short.
func TestInboxFloodOnOneLaneLeavesOthersAlone(t *testing.T) {
	q := newInbox(8, 16, queueBytes)
	big := strings.Repeat("x", 2000)
	for i := range 100 {
		q.put("base/a", Message{Topic: "base/a/set", Payload: []byte(strconv.Itoa(i) + big)})
	}
	for i := range 3 {
		q.put("base/b", Message{Topic: "base/b/set", Payload: []byte("b" + strconv.Itoa(i))})
	}
	got := takeAll(q)
	if len(got) != 103 {
		t.Fatalf("handed over %d messages and notices, want 103 (every message once)", len(got))
	}
	var bSeen, notices int
	for i, m := range got {
		switch {
		case m.Topic == "base/b/set":
			if m.Dropped {
				t.Errorf("b's message %s was dropped", m.Payload)
			}
			if bSeen++; i >= 6 {
				t.Errorf("b's message %s came at turn %d, behind the flood", m.Payload, i)
			}
		case m.Dropped:
			notices++
			if len(m.Payload) > noticeKeep {
				t.Errorf("a notice keeps %d bytes of payload, want at most %d", len(m.Payload), noticeKeep)
			}
		}
	}
	if bSeen != 3 || notices != 92 {
		t.Errorf("b's messages handed over %d (want 3), notices %d (want 92: 100 sent, 8 fit)", bSeen, notices)
	}
	if n := q.takeLost(); n != 0 {
		t.Errorf("%d messages lost without a notice", n)
	}
}

// When the whole inbox is full, a message for a quiet lane makes room by
// turning the longest lane's newest message into a notice: many flooded
// lanes cannot lock a quiet one out either.
func TestInboxFullMakesRoomForAQuietLane(t *testing.T) {
	q := newInbox(16, 16, queueBytes)
	for i := range 16 {
		q.put("base/a", Message{Topic: "base/a/set", Payload: []byte(strconv.Itoa(i))})
	}
	q.put("base/b", Message{Topic: "base/b/set", Payload: []byte("b")})
	var bOK, notices int
	for _, m := range takeAll(q) {
		switch {
		case m.Topic == "base/b/set" && !m.Dropped:
			bOK++
		case m.Dropped:
			notices++
			if string(m.Payload) != "15" {
				t.Errorf("notice for %q, want a's newest message (15)", m.Payload)
			}
		}
	}
	if bOK != 1 || notices != 1 {
		t.Errorf("b delivered %d (want 1), notices %d (want 1)", bOK, notices)
	}
}

// Notices have a memory bound: past it a dropped message is counted, not
// kept, and the count is reported once.
func TestInboxNoticeMemoryIsBounded(t *testing.T) {
	q := newInbox(1, 1, queueBytes)
	topic := "base/a/" + strings.Repeat("k", 64<<10)
	n := noticeBytes/len(topic) + 10
	for range n {
		q.put("base/a", Message{Topic: topic, Payload: []byte("v")})
	}
	if q.noticeMem > noticeBytes {
		t.Errorf("notices hold %d bytes, bound %d", q.noticeMem, noticeBytes)
	}
	lost := q.takeLost()
	got := takeAll(q)
	if lost == 0 || lost+len(got) != n {
		t.Errorf("lost %d + handed over %d, want %d in all with some lost", lost, len(got), n)
	}
	if len(q.lanes) != 0 {
		t.Errorf("%d lanes left after draining", len(q.lanes))
	}
}

func TestLaneKey(t *testing.T) {
	for _, c := range []struct{ filter, topic, want string }{
		{"t/+/set", "t/car1/set", "t/car1"},
		{"t/+/set/+", "t/car1/set/locked", "t/car1"},
		{"t/bridge/request/+", "t/bridge/request/republish", "t/bridge/request/republish"},
		{"homeassistant/status", "homeassistant/status", "homeassistant/status"},
		{"pipe/#", "pipe/a/b", "pipe/#"},
		{"+", "x", "x"},
	} {
		if got := laneKey(c.filter, c.topic); got != c.want {
			t.Errorf("laneKey(%q, %q) = %q, want %q", c.filter, c.topic, got, c.want)
		}
	}
}
