package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// firstRetry and maxRetry pace the retries of a first MQTT connection that
// failed: 1 s, 2 s, 4 s … at most 30 s, like the client's own reconnects.
const (
	firstRetry = time.Second
	maxRetry   = 30 * time.Second
)

// connectMQTT makes the first connection to a broker. A broker that is
// down or refuses the login does not stop the bridge (in Docker or the
// add-on that would be a restart loop that says nothing): it runs on, its
// status page and /healthz report MQTT as failing, and a goroutine retries
// with back-off, capped at maxBackoff (0: 30 s), until it connects or ctx
// ends. From then on the client reconnects by itself. stop ends the
// retries and waits for them; call it before closing c. Only a URL no
// retry can fix is an error.
func connectMQTT(ctx context.Context, c *mqtt.Client, rawURL string, maxBackoff time.Duration, clk clock.Clock, log zerolog.Logger) (stop func(), err error) {
	if u, perr := url.Parse(rawURL); perr != nil || u.Scheme == "" || u.Host == "" {
		return nil, usageErr("MQTT broker URL %q: want scheme://host:port, e.g. tcp://127.0.0.1:1883", rawURL)
	}
	err = c.Connect(ctx)
	if err == nil || ctx.Err() != nil {
		return func() {}, nil
	}
	if maxBackoff <= 0 {
		maxBackoff = maxRetry
	}
	wait := min(firstRetry, maxBackoff)
	log.Warn().Err(err).Str("url", rawURL).Dur("retry_in", wait).
		Msg("cannot connect to the MQTT broker; the bridge keeps running and retries (/healthz reports mqtt failing meanwhile)")
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer recoverTo(log, "mqtt first connect")
		for attempt := 2; ; attempt++ {
			if clk.Sleep(ctx, wait) != nil {
				return
			}
			err := c.Connect(ctx)
			if err == nil {
				log.Info().Str("url", rawURL).Int("attempts", attempt).Msg("connected to the MQTT broker")
				return
			}
			if ctx.Err() != nil {
				return
			}
			wait = min(2*wait, maxBackoff)
			log.Warn().Err(err).Str("url", rawURL).Int("attempt", attempt).Dur("retry_in", wait).Msg("still cannot connect to the MQTT broker")
		}
	}()
	return func() { cancel(); <-done }, nil
}

// clientID is id with "-<8 random hex digits>" appended when suffix is on
// (an empty id stays empty: the client then picks a random one). MQTT
// hands a client id in use to the newcomer and disconnects the holder, so
// a guessable id lets anyone on an external broker kick the bridge off.
// The embedded broker refuses such a takeover itself, so the bridge keeps
// the exact id there.
func clientID(id string, suffix bool) string {
	if id == "" || !suffix {
		return id
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return id + "-" + hex.EncodeToString(b)
}
