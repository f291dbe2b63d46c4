package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
)

// inject starts a fault and returns the check, called once per step, that
// ends it when its time has come and reports whether it is over.
func (s *soak) inject(kind string, now time.Time) func(time.Time) bool {
	t := s.t
	switch kind {
	case faultBroker:
		s.restartBroker()
		return func(time.Time) bool { return true }
	case fault5xx:
		// A burst of server errors on whatever the bridge asks next.
		before := s.srv.count(500, 599)
		s.sim.FailNext(fleetsim.AnyEndpoint, 503, 4)
		s.sim.FailNext(fleetsim.AnyEndpoint, 502, 2)
		s.sim.FailNext(fleetsim.AnyEndpoint, 500, 2)
		return func(time.Time) bool { return s.srv.count(500, 599) >= before+8 }
	case fault429:
		before := s.srv.count(429, 429)
		s.sim.FailNext(fleetsim.AnyEndpoint, 429, 3) // Retry-After: 30
		return func(time.Time) bool { return s.srv.count(429, 429) >= before+3 }
	case faultTokenExpired:
		return s.expireToken(now, false)
	case faultTokenRevoked:
		return s.expireToken(now, true)
	case faultCarGone:
		if err := s.sim.HideVehicle(model3); err != nil {
			t.Fatal(err)
		}
		back := now.Add(30 * time.Minute)
		return func(now time.Time) bool {
			if now.Before(back) {
				return false
			}
			if s.events(contract.EventDeviceRemoved) != s.faults[faultCarGone] {
				t.Fatalf("the car was gone for 30 minutes (3 product lists) but not removed: %d removals for %d absences",
					s.events(contract.EventDeviceRemoved), s.faults[faultCarGone])
			}
			s.sim.ShowVehicle(model3)
			return true
		}
	}
	t.Fatalf("unknown fault %q", kind)
	return nil
}

// restartBroker stops the broker and starts an empty one on the same port;
// the bridge must come back by itself: bridge/state, availability and the
// car's state published again. This part takes real time (the client's
// reconnect), bounded by the wait.
func (s *soak) restartBroker() {
	t := s.t
	s.obs.forget()
	before := s.st.mqtt.Reconnects()
	start := time.Now()
	addr := s.brk.Addr()
	_ = s.brk.Close()
	s.brk = soakBroker(t, addr)
	if !s.obs.wait(30*time.Second, func(o *soakObserver) bool {
		return string(o.last[s.cfg.MQTT.BaseTopic+"/bridge/state"]) == "online" &&
			string(o.last[s.base+"/availability"]) == "online" && o.last[s.base] != nil
	}) {
		s.obs.mu.Lock()
		bs, av := string(s.obs.last[s.cfg.MQTT.BaseTopic+"/bridge/state"]), string(s.obs.last[s.base+"/availability"])
		s.obs.mu.Unlock()
		t.Fatalf("%s: 30 s after a broker restart the bridge has not republished: bridge/state %q, availability %q, bridge connected %v "+
			"(reconnects %d → %d), observer connected %v; state %q", s.clock.Now().Format(time.DateTime), bs, av,
			s.st.mqtt.IsConnected(), before, s.st.mqtt.Reconnects(), s.obs.c.IsConnected(), s.obs.lastState(s.base))
	}
	s.restarts = append(s.restarts, time.Since(start))
	if s.st.mqtt.Reconnects() <= before {
		t.Fatalf("the bridge's state came back without a reconnect (%d → %d)", before, s.st.mqtt.Reconnects())
	}
}

// expireToken: the access token runs out. With a working refresh token the
// bridge refreshes before any request is refused. Revoked (as after a
// password change), every request fails until the user logs in again 20
// minutes later, and the bridge picks the new token up from the token file.
func (s *soak) expireToken(now time.Time, revoked bool) func(time.Time) bool {
	t := s.t
	refused := s.srv.count(401, 401)
	if revoked {
		s.sim.RevokeTokens()
	}
	tok, err := s.acct.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	expired := s.sim.MintToken(s.cfg.Tesla.Scopes, time.Nanosecond) // expired for fleetsim
	tok.AccessToken, tok.Expiry = expired, now
	if err := s.acct.store.Save(tok); err != nil {
		t.Fatal(err)
	}
	s.tickWatcher() // the watcher reloads the file, then refreshes ahead of any request
	if !revoked {
		if cur := s.acct.ts.Current(); cur == nil || cur.AccessToken == expired {
			t.Fatal("the expired access token was not refreshed")
		}
		if n := s.srv.count(401, 401) - refused; n != 0 {
			t.Fatalf("%d requests refused with 401 although the refresh token worked", n)
		}
		return func(time.Time) bool { return true }
	}
	login := now.Add(20 * time.Minute)
	return func(now time.Time) bool {
		if now.Before(login) {
			return false
		}
		if s.srv.count(401, 401) == refused {
			t.Fatal("the revoked refresh token was never refused: the fault did not bite")
		}
		tok, err := loginHeadless(context.Background(), loginParams{cfg: s.cfg, configPath: "soak", out: io.Discard, now: s.clock.Now})
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		s.tickWatcher()
		if cur := s.acct.ts.Current(); cur == nil || cur.AccessToken != tok.AccessToken {
			t.Fatal("the bridge did not pick up the new login from the token file")
		}
		return true
	}
}

// tickWatcher runs one round of the token file watcher: the second send
// returns once the first round is done (the channel is unbuffered).
func (s *soak) tickWatcher() {
	for range 2 {
		select {
		case s.tick <- s.clock.Now():
		case <-time.After(30 * time.Second):
			s.t.Fatal("the token watcher is stuck")
		}
	}
}

// events counts the bridge events of a type for the car.
func (s *soak) events(typ string) int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	n := 0
	for _, ev := range s.obs.events {
		if ev["type"] == typ && ev["device"] == model3 {
			n++
		}
	}
	return n
}

// command sets the charge limit through the JSON set topic and waits for
// its result; an ok result must have reached the car and its fresh read the
// state topic.
func (s *soak) command() {
	t := s.t
	n := s.commands
	s.commands++
	tx := fmt.Sprintf("soak-%d", n)
	limit := float64(60 + (n*7)%31)
	if limit == s.sim.Snapshot(model3).ChargeLimit {
		limit++
	}
	s.txs = append(s.txs, tx)
	if err := s.obs.c.Publish(s.base+"/set", fmt.Appendf(nil, `{"charge_limit":%g,"transaction":%q}`, limit, tx), false); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if !s.obs.wait(30*time.Second, func(o *soakObserver) bool {
		if r := o.result[tx]; len(r) > 0 {
			res = r[0]
			return true
		}
		return false
	}) {
		t.Fatalf("no result for command %s within 30 s", tx)
	}
	status, _ := res["status"].(string)
	if e, ok := res["error"].(map[string]any); ok {
		status += "/" + fmt.Sprint(e["code"])
	}
	s.cmdStatus[status]++
	if res["status"] != "ok" {
		return
	}
	if got := s.sim.Snapshot(model3).ChargeLimit; got != limit {
		t.Fatalf("command %s ok but the car's charge limit is %v, want %v", tx, got, limit)
	}
	if !s.obs.wait(10*time.Second, func(o *soakObserver) bool { return o.json(s.base)["charge_limit"] == limit }) {
		t.Fatalf("command %s: the fresh read never published charge_limit %v: %s", tx, limit, s.obs.lastState(s.base))
	}
}
