package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestBenchScaleSmall runs `bench scale` at a small size, as a user would
// before a big run, and checks that the report is whole and sane: every
// device published, the round read every online car and site, traffic and
// memory counted. Its timings are not asserted; the bench exists to
// measure them.
func TestBenchScaleSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon, a broker and the simulator")
	}
	rep, err := runScale(context.Background(), scaleParams{cars: 20, sites: 5, limit: 2 * time.Minute, log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.write(&out)
	t.Log("\n" + out.String())
	// 20 cars in the generated mix: 8 asleep, 12 awake; every site is read.
	if rep.RoundDevices != 17 || rep.RoundRead != rep.RoundDevices {
		t.Errorf("round read %d of %d devices, want all 17 online cars and sites", rep.RoundRead, rep.RoundDevices)
	}
	if rep.FirstState <= 0 || rep.FirstRead < rep.FirstState || rep.StartupDone <= 0 || rep.Round <= 0 || rep.Birth <= 0 {
		t.Errorf("timings missing or out of order: %+v", rep)
	}
	if rep.StartupMsgs < int64(rep.BirthTopics) || rep.StartupBytes <= 0 || rep.RoundMsgs <= 0 {
		t.Errorf("traffic: start-up %d msgs %d B, round %d msgs, %d topics republished on birth",
			rep.StartupMsgs, rep.StartupBytes, rep.RoundMsgs, rep.BirthTopics)
	}
	if rep.Heap <= 0 || rep.HeapShares["daemon"] <= 0 || rep.HeapShares["broker"] <= 0 || rep.RSS <= 0 {
		t.Errorf("memory: heap %d, shares %v, RSS %d", rep.Heap, rep.HeapShares, rep.RSS)
	}
	for _, want := range []string{"| polling round |", "| HA birth republish |", "| live heap |", "heap: broker", "| RSS |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
