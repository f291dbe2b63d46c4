package mqtt

import (
	"time"

	"github.com/rs/zerolog"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// Options configure a Client.
type Options struct {
	// URL of the broker: tcp://host:port, ssl://host:port, ws://…
	URL string
	// ClientID (default "<program name>-<random hex>"). With a clean session
	// the id only has to be unique among the broker's current clients.
	ClientID string
	// Username and Password for the broker (optional).
	Username string
	Password string
	// CAFile is a PEM bundle of the CAs that sign the broker's certificate
	// (default: the system's roots). CertFile and KeyFile are a client
	// certificate and its key, for brokers that authenticate clients by
	// certificate. They apply to ssl://, tls://, mqtts:// and wss:// URLs.
	CAFile   string
	CertFile string
	KeyFile  string
	// InsecureSkipVerify accepts any broker certificate. It exists for a
	// broker with a self-signed certificate during setup; CAFile is the fix.
	InsecureSkipVerify bool
	// WillTopic gets WillPayload (retained) from the broker when the connection
	// dies, and OnlinePayload (retained) after each connect. Empty disables both.
	WillTopic     string
	WillPayload   string
	OnlinePayload string
	// ConnectTimeout bounds the first connect and every later connection
	// attempt (default 10 s).
	ConnectTimeout time.Duration
	// ReconnectInterval caps the back-off between reconnect attempts
	// (default 30 s, which is also the maximum). Paho starts at 1 s, or at this
	// value when it is smaller; tests set it low to reconnect quickly.
	ReconnectInterval time.Duration
	// QueueSize is the number of inbound messages buffered for handlers
	// over all lanes (default 1024), and LaneSize the number per lane
	// (default 64). A lane is the topic up to the level that the first "+"
	// of the matching subscription stands for (base/+/set: one lane per
	// value of +), and the lanes take turns, so a flood on one lane never
	// delays or drops another's messages. A message that finds its lane
	// full is dropped, and its handler gets a drop notice (Message.Dropped)
	// instead; blocking the network goroutine would stall keep-alive pings
	// and, in the end, the whole connection.
	QueueSize int
	LaneSize  int
	// PublishWindow is how many PublishAsync and PublishMany messages may
	// await their acknowledgement at once (default 128). Publish, which
	// waits for its own, does not count against it.
	PublishWindow int
	// Clock bounds the wait for the broker's acknowledgements (default: the
	// wall clock; paho's own keep-alive and reconnect timing is wall time
	// regardless).
	Clock clock.Clock
	// Logger for connection events.
	Logger zerolog.Logger
}

// Message is one inbound message handed to a Handler.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	// Dropped marks a drop notice: the message found its lane full and
	// was not delivered. Payload holds only its first bytes (at most
	// 512), so that a handler can answer the sender (an id near the
	// start) but must not act on it.
	Dropped bool
}

// Handler handles one inbound message. Handlers run on the client's own
// dispatch goroutine, one at a time: in arrival order within a lane, the
// lanes taking turns. A slow handler delays other handlers but never the
// network loop. A handler gets drop notices too (Message.Dropped) and must
// not act on one.
type Handler func(Message)
