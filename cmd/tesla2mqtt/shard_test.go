package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/contract"
	"github.com/tesla2mqtt/tesla2mqtt/bridge/schedule"
	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet/fleetsim"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
	"github.com/tesla2mqtt/tesla2mqtt/mqtt"
)

// Issue 17 "Beyond one machine": three instances of the bridge, shards
// 0/3, 1/3 and 2/3 of one account (30 cars, 6 sites), against one broker
// and one simulator. Every device is published by exactly one instance,
// its owner by the hash; every command sent over MQTT runs exactly once
// and is answered once; a device-scoped bridge request is answered once,
// an account-wide one by each instance for its own devices; and only
// instance 0 spends the single-use refresh token.
func TestThreeShardsShareOneAccount(t *testing.T) {
	const count, cars, sites = 3, 30, 6
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	sim := fleetsim.New(fleetsim.Options{Clock: clk, Vehicles: cars, EnergySites: sites, StrictRefresh: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	base := obConfig(t, srv.URL) // its state_dir is the shared token_dir
	if _, err := loginHeadless(context.Background(), loginParams{cfg: base, configPath: "c", out: newObSyncBuf(), now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	url := testBroker(t)
	obs := newShardObserver(t, url) // subscribed before any bridge connects (mochi upstream #200)

	owner := func(name string) int { // the shard a device belongs to, as README says
		if i := strings.Index(name, "-wc-"); i > 0 {
			name = name[:i] // a Wall Connector goes with its site
		}
		h := fnv.New32a()
		h.Write([]byte(name))
		return int(h.Sum32() % count)
	}
	var names []string
	perShard := make([]int, count)
	for _, vin := range sim.VINs() {
		names = append(names, vin)
	}
	for _, id := range sim.SiteIDs() {
		names = append(names, strconv.FormatInt(id, 10))
	}
	for _, n := range names {
		perShard[owner(n)]++
	}
	for i, n := range perShard {
		if n == 0 {
			t.Fatalf("shard %d owns no device (%v): the fleet does not test the split", i, perShard)
		}
	}

	// Retained command messages left on the broker before the instances
	// start: each is answered retained_ignored once, cleared once, and
	// never run, not even as the empty echo of its clearing.
	asleep := sim.VINs()[0] // GeneratedMix(0): asleep, so no command of the test below
	retained := map[string]string{
		"tesla2mqtt/" + asleep + "/set":     `{"charge_limit": 60, "transaction": "ret1"}`,
		"tesla2mqtt/bridge/request/refresh": fmt.Sprintf(`{"device": %q, "transaction": "ret2"}`, names[1]),
	}
	for topic, payload := range retained {
		if err := obs.c.Publish(topic, []byte(payload), true); err != nil {
			t.Fatal(err)
		}
		obs.waitTopic(t, topic)
	}

	rec := &shardRecorder{by: map[string]map[int]int{}, notify: make(chan struct{}, 1)}
	inst := make([]*shardInstance, count)
	for i := range count {
		inst[i] = startShard(t, base, url, srv.URL, clk, i, count, rec)
	}

	// Every device published (state on the broker, device discovery), each
	// by its owner alone.
	rec.wait(t, func(by map[string]map[int]int) bool {
		for _, n := range names {
			if len(by[n]) == 0 {
				return false
			}
		}
		return true
	})
	for _, n := range names {
		obs.waitTopic(t, "tesla2mqtt/"+n)
		obs.waitTopic(t, "homeassistant/device/tesla2mqtt_"+n+"/config")
	}
	rec.mu.Lock()
	for n, by := range rec.by {
		want := owner(n)
		if len(by) != 1 || by[want] == 0 {
			t.Errorf("%s: state published by instances %v, want only %d", n, keys(by), want)
		}
	}
	rec.mu.Unlock()
	for _, n := range names {
		cfgPayload := obs.last("homeassistant/device/tesla2mqtt_" + n + "/config")
		want := fmt.Sprintf("tesla2mqtt/bridge/shard/%d/state", owner(n))
		if !strings.Contains(string(cfgPayload), want) {
			t.Errorf("%s: discovery does not name its owner's availability %s: %.200s", n, want, cfgPayload)
		}
	}

	obs.waitFor(t, func() bool { return obs.count("tesla2mqtt/"+asleep+"/result") >= 1 }, "the retained set's answer")
	obs.waitFor(t, func() bool { return len(obs.responses("refresh", "ret2")) >= 1 }, "the retained request's answer")

	// Commands: every awake car and every site with a battery gets one,
	// over MQTT.
	sent := map[string]string{} // device → transaction
	for i, vin := range sim.VINs() {
		if fleetsim.GeneratedMix(i) == "asleep" {
			continue // a wake is its own story; the point is who sends
		}
		tr := "t-" + vin
		sent[vin] = tr
		obs.publish(t, "tesla2mqtt/"+vin+"/set", fmt.Sprintf(`{"charge_limit": 70, "transaction": %q}`, tr))
	}
	for j, id := range sim.SiteIDs() {
		if j%3 == 1 {
			continue // solar only: no battery, no backup reserve
		}
		n := strconv.FormatInt(id, 10)
		tr := "t-" + n
		sent[n] = tr
		obs.publish(t, "tesla2mqtt/"+n+"/set", fmt.Sprintf(`{"backup_reserve": 35, "transaction": %q}`, tr))
	}
	for n := range sent {
		obs.waitFor(t, func() bool { return obs.count("tesla2mqtt/"+n+"/result") >= 1 }, n+"'s result")
	}
	// A device-scoped request (answered by its owner only) and an
	// account-wide one (answered by each instance); their answers come after
	// the results above in each instance's order, so the counts below are
	// final once these are in.
	obs.publish(t, "tesla2mqtt/bridge/request/refresh", fmt.Sprintf(`{"device": %q, "transaction": "r1"}`, names[0]))
	obs.publish(t, "tesla2mqtt/bridge/request/republish", `{"transaction": "r2"}`)
	obs.publish(t, "tesla2mqtt/nosuchcar/get", "")
	obs.waitFor(t, func() bool { return len(obs.responses("republish", "r2")) == count }, "three republish answers")
	obs.waitFor(t, func() bool { return len(obs.responses("refresh", "r1")) >= 1 }, "the refresh answer")
	obs.waitFor(t, func() bool { return obs.count("tesla2mqtt/nosuchcar/result") >= 1 }, "the unknown device's answer")
	for i := range inst { // a job on every instance: whatever was queued is handled
		inst[i].sched.Fire("connectivity")
	}

	if c := obs.count("tesla2mqtt/" + asleep + "/result"); c != 1 || !strings.Contains(string(obs.last("tesla2mqtt/"+asleep+"/result")), "retained_ignored") {
		t.Errorf("retained set: %d answers, last %s; want one retained_ignored", c, obs.last("tesla2mqtt/"+asleep+"/result"))
	}
	if rs := obs.responses("refresh", "ret2"); len(rs) != 1 || rs[0]["shard"] != "0/3" {
		t.Errorf("retained request answered %v, want once, by instance 0", rs)
	}
	if rs := obs.responses("refresh", nil); len(rs) != 0 {
		t.Errorf("the echo of a clearing ran as a request: %v", rs)
	}
	for topic := range retained {
		obs.mu.Lock()
		n := obs.empty[topic]
		obs.mu.Unlock()
		if n != 1 {
			t.Errorf("%s cleared %d times, want once", topic, n)
		}
	}

	executed := sim.CommandsByDevice()
	for n := range sent {
		if executed[n] != 1 {
			t.Errorf("%s: command executed %d times, want 1; result %s", n, executed[n], obs.last("tesla2mqtt/"+n+"/result"))
		}
		if c := obs.count("tesla2mqtt/" + n + "/result"); c != 1 {
			t.Errorf("%s: %d results, want 1", n, c)
		}
	}
	for n, c := range executed {
		if _, ok := sent[n]; !ok {
			t.Errorf("%s: %d commands nobody sent", n, c)
		}
	}
	if rs := obs.responses("refresh", "r1"); len(rs) != 1 || rs[0]["shard"] != fmt.Sprintf("%d/%d", owner(names[0]), count) {
		t.Errorf("refresh of %s answered %v, want once by its owner", names[0], rs)
	}
	shards := []string{}
	for _, r := range obs.responses("republish", "r2") {
		s, _ := r["shard"].(string)
		shards = append(shards, s)
	}
	sort.Strings(shards)
	if strings.Join(shards, ",") != "0/3,1/3,2/3" {
		t.Errorf("republish answered by %v, want each instance once", shards)
	}
	if c := obs.count("tesla2mqtt/nosuchcar/result"); c != 1 {
		t.Errorf("unknown device answered %d times, want 1 (by the owner of its hash)", c)
	}

	// The access token comes due: instance 0 refreshes and saves, the
	// others read what it saved; one refresh in all.
	_, before := sim.AuthStats()
	clk.Advance(7*time.Hour + 57*time.Minute)
	inst[0].sched.Fire("connectivity")
	if _, n := sim.AuthStats(); n != before+1 {
		t.Fatalf("instance 0 refreshed %d times, want 1", n-before)
	}
	fresh := inst[0].acct.ts.Current().AccessToken
	for _, in := range inst[1:] {
		in.sched.Fire("connectivity")
		if got := in.acct.ts.Current().AccessToken; got != fresh {
			t.Errorf("instance %d does not use the token instance 0 saved", in.index)
		}
	}
	if _, n := sim.AuthStats(); n != before+1 {
		t.Errorf("%d refreshes for one account, want 1: refresh tokens are single-use", n-before)
	}
}

// shardInstance is one running bridge of the sharded account.
type shardInstance struct {
	index int
	sched *schedule.Manual
	acct  *account
}

func startShard(t *testing.T, base *config.Config, url, simURL string, clk *clock.Manual, i, n int, rec *shardRecorder) *shardInstance {
	t.Helper()
	c := *base
	c.StateDir = t.TempDir()
	c.Shard = config.Shard{Index: i, Count: n, TokenDir: base.StateDir}
	c.MQTT.URL = url
	c.MQTT.ClientID = fmt.Sprintf("tesla2mqtt-shard-%d", i)
	acct, err := openAccount(&c, "config.toml", clk, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sched := schedule.NewManual()
	runWithAccount(t, &c, acct, sched, wiring{baseURL: simURL, clock: clk,
		hooks: []contract.Hook{&shardHook{i: i, rec: rec}}}, fmt.Sprintf("instance %d", i))
	return &shardInstance{index: i, sched: sched, acct: acct}
}

// shardRecorder notes which instance published each device's state.
type shardRecorder struct {
	mu     sync.Mutex
	by     map[string]map[int]int // device → instance → publishes
	notify chan struct{}
}

func (r *shardRecorder) wait(t *testing.T, ok func(map[string]map[int]int) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		done := ok(r.by)
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatal("not every device was published")
		}
	}
}

// shardHook is one instance's view into the recorder.
type shardHook struct {
	contract.HookBase
	i   int
	rec *shardRecorder
}

func (h *shardHook) OnState(e contract.StateEvent) {
	h.rec.mu.Lock()
	if h.rec.by[e.Device] == nil {
		h.rec.by[e.Device] = map[int]int{}
	}
	h.rec.by[e.Device][h.i]++
	h.rec.mu.Unlock()
	select {
	case h.rec.notify <- struct{}{}:
	default:
	}
}

func keys(m map[int]int) []int {
	out := []int{}
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// shardObserver is a client that sees every message on the broker and
// counts them by topic (retained and live alike).
type shardObserver struct {
	c      *mqtt.Client
	mu     sync.Mutex
	counts map[string]int
	empty  map[string]int // empty messages (clearings of retained ones)
	lastP  map[string][]byte
	resps  map[string][]map[string]any // action → answers
	notify chan struct{}
}

func newShardObserver(t *testing.T, url string) *shardObserver {
	t.Helper()
	o := &shardObserver{counts: map[string]int{}, empty: map[string]int{}, lastP: map[string][]byte{}, resps: map[string][]map[string]any{}, notify: make(chan struct{}, 1)}
	o.c = mqtt.New(mqtt.Options{URL: url, ClientID: "shard-observer", Logger: zerolog.Nop()})
	if err := o.c.Subscribe("#", o.note); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.c.Close(context.Background()) })
	return o
}

func (o *shardObserver) note(m mqtt.Message) {
	o.mu.Lock()
	o.counts[m.Topic]++
	if len(m.Payload) == 0 {
		o.empty[m.Topic]++
	}
	o.lastP[m.Topic] = append([]byte(nil), m.Payload...)
	if action, ok := strings.CutPrefix(m.Topic, "tesla2mqtt/bridge/response/"); ok {
		r := map[string]any{}
		if json.Unmarshal(m.Payload, &r) == nil {
			o.resps[action] = append(o.resps[action], r)
		}
	}
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

func (o *shardObserver) publish(t *testing.T, topic, payload string) {
	t.Helper()
	if err := o.c.Publish(topic, []byte(payload), false); err != nil {
		t.Fatal(err)
	}
}

func (o *shardObserver) count(topic string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[topic]
}

func (o *shardObserver) last(topic string) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastP[topic]
}

// responses are the answers to action with transaction tr (nil: none).
func (o *shardObserver) responses(action string, tr any) []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []map[string]any
	for _, r := range o.resps[action] {
		if r["transaction"] == tr {
			out = append(out, r)
		}
	}
	return out
}

func (o *shardObserver) waitTopic(t *testing.T, topic string) {
	t.Helper()
	o.waitFor(t, func() bool { return o.count(topic) > 0 }, topic)
}

func (o *shardObserver) waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !ok() {
		select {
		case <-o.notify:
		case <-deadline:
			t.Fatalf("never saw %s", what)
		}
	}
}
