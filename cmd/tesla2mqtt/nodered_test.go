package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nodeRedBinary finds node-red: on PATH, in $NODE_RED_HOME, or in the cache
// folder .ci/run installs it into.
func nodeRedBinary(t *testing.T) string {
	t.Helper()
	var candidates []string
	if h := os.Getenv("NODE_RED_HOME"); h != "" {
		candidates = append(candidates, filepath.Join(h, "node_modules", ".bin", "node-red"))
	}
	if c, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(c, "tesla2mqtt-ci", "node-red", "node_modules", ".bin", "node-red"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return peerNeedProgram(t, "node-red")
}

// TestNodeRedExampleFlow runs real Node-RED headless with
// examples/node-red/flows.json against `demo`: the flow shows the car's
// battery level, and its "charge limit 90 %" button (pressed through the
// editor's own inject endpoint) changes the limit in fleetsim.
func TestNodeRedExampleFlow(t *testing.T) {
	nodeRed := nodeRedBinary(t)
	peerNeedProgram(t, "node")
	demo := peerStartDemo(t, nil, "--mqtt-addr", "127.0.0.1:0")
	host, port, _ := net.SplitHostPort(demo.Broker)
	w := peerWatch(t, "tcp://"+demo.Broker, "", "")
	state := "tesla2mqtt/" + model3
	w.wait(t, state, 30*time.Second, func(m map[string]any) bool { return m["charge_limit"] != nil && m["charge_limit"] != 90.0 })

	flows, err := os.ReadFile("../../examples/node-red/flows.json")
	if err != nil {
		t.Fatal(err)
	}
	// The example talks to localhost:1883; point it at the demo's broker.
	f := strings.Replace(string(flows), `"broker": "localhost"`, `"broker": "`+host+`"`, 1)
	f = strings.Replace(f, `"port": "1883"`, `"port": "`+port+`"`, 1)
	if f == string(flows) {
		t.Fatal("the example flow no longer has the broker node this test rewrites")
	}
	userDir := t.TempDir()
	peerWriteFile(t, filepath.Join(userDir, "flows.json"), f)
	httpAddr := peerFreeAddr(t)
	_, nrPort, _ := net.SplitHostPort(httpAddr)
	nr := peerStartProc(t, []string{"NODE_RED_ENABLE_PROJECTS=false"}, nodeRed,
		"--userDir", userDir, "--port", nrPort, "flows.json")
	nr.waitLine(t, regexp.MustCompile(`Started flows`), 90*time.Second)
	nr.waitLine(t, regexp.MustCompile(`Connected to broker`), 30*time.Second)
	// The debug node prints the battery level the function node extracted.
	nodeRedDebugValue(t, nr, "Battery level", regexp.MustCompile(`^\s*\d+(\.\d+)?\s*$`))

	resp, err := http.Post("http://"+httpAddr+"/inject/t2m_limit_90", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pressing the inject button: %s", resp.Status)
	}
	res := w.wait(t, state+"/result", 30*time.Second, func(map[string]any) bool { return true })
	if res["status"] != "ok" {
		t.Fatalf("result of the flow's command: %v", res)
	}
	// The fresh read after the command shows fleetsim's new limit.
	w.wait(t, state, 30*time.Second, func(m map[string]any) bool { return m["charge_limit"] == 90.0 })
	nodeRedDebugValue(t, nr, "Command result", regexp.MustCompile(`status: 'ok'|"status":\s*"ok"`))
}

// nodeRedDebugValue waits for a console line of the named debug node and
// checks the value it printed (on the same or the following lines).
func nodeRedDebugValue(t *testing.T, nr *proc, node string, want *regexp.Regexp) {
	t.Helper()
	marker := "[debug:" + node + "]"
	nr.waitLine(t, regexp.MustCompile(regexp.QuoteMeta(marker)), 30*time.Second)
	lines := nr.output()
	for i, l := range lines {
		j := strings.Index(l, marker)
		if j < 0 {
			continue
		}
		rest := []string{l[j+len(marker):]}
		for k := i + 1; k < len(lines) && k <= i+8; k++ {
			rest = append(rest, lines[k])
		}
		for _, r := range rest {
			if want.MatchString(r) {
				return
			}
		}
	}
	t.Fatalf("debug node %q never printed %s", node, want)
}
