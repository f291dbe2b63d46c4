package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// scaleReport is what `bench scale` measured. Times are wall time from the
// start of the stack (Online, FirstState, FirstRead, StartupDone) or from
// the start of their phase.
type scaleReport struct {
	Cars, Sites int
	Latency     time.Duration
	Duration    time.Duration
	Broker      string

	Online      time.Duration // startStack returned: bridge/state "online" acknowledged
	FirstState  time.Duration // every device's first state message
	FirstRead   time.Duration // every online car and site published with a read
	StartupDone time.Duration // the bridge's first pass done, its schedule started

	StartupMsgs, StartupBytes int64
	StartupCPU                time.Duration
	startCPU                  time.Duration

	RoundDevices          int
	RoundRead             int // of RoundDevices, read during the round
	RoundPublished        int // of RoundDevices, republished during the round
	Round, RoundJobs      time.Duration
	RoundMsgs, RoundBytes int64
	RoundCPU              time.Duration

	Heap         int64
	HeapShares   map[string]int64
	RSS, PeakRSS int64
	BirthTopics  int
	Birth        time.Duration // birth message → last topic republished
	BirthSpread  time.Duration // first → last republished topic

	IdleMsgs, IdleBytes     int64
	IdleCPU                 time.Duration
	SteadyMsgs, SteadyBytes int64
	SteadyCPU               time.Duration
}

// perMinute scales a count over the report's window to one minute.
func (r *scaleReport) perMinute(n float64) float64 {
	if r.Duration <= 0 {
		return 0
	}
	return n * float64(time.Minute) / float64(r.Duration)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

// write prints the report as a markdown table plus notes.
func (r *scaleReport) write(w io.Writer) {
	fmt.Fprintf(w, "bench scale: %d cars, %d sites, %s latency per request, %s broker; %s, %d CPUs\n\n",
		r.Cars, r.Sites, r.Latency, r.Broker, runtime.Version(), runtime.NumCPU())
	fmt.Fprintln(w, "| Measure | Value | What it is |")
	fmt.Fprintln(w, "|---|---:|---|")
	row := func(name, value, what string) { fmt.Fprintf(w, "| %s | %s | %s |\n", name, value, what) }
	row("bridge/state online", secs(r.Online), "from start until the MQTT client's connect returned (online published and acknowledged)")
	row("every device's first state", secs(r.FirstState), fmt.Sprintf("from start; %d devices (discovery published first)", r.Cars+r.Sites))
	row("every online car and site read", secs(r.FirstRead), "from start; first state carrying updated_at")
	row("start-up done", secs(r.StartupDone), "from start until the bridge's first pass ended and its schedule started")
	row("start-up traffic", fmt.Sprintf("%d msgs, %s", r.StartupMsgs, mib(r.StartupBytes)), fmt.Sprintf("CPU %s", secs(r.StartupCPU)))
	row("polling round", secs(r.Round), fmt.Sprintf("all polling jobs fired at once → %d of %d online cars and sites read, %d republished (jobs returned after %s)",
		r.RoundRead, r.RoundDevices, r.RoundPublished, secs(r.RoundJobs)))
	row("round traffic", fmt.Sprintf("%d msgs, %s", r.RoundMsgs, mib(r.RoundBytes)), fmt.Sprintf("CPU %s", secs(r.RoundCPU)))
	row("HA birth republish", secs(r.Birth), fmt.Sprintf("homeassistant/status online → all %d discovery and state topics again (first to last: %s; includes the bridge's random 2–4 s birth delay)", r.BirthTopics, secs(r.BirthSpread)))
	row("RSS", mib(r.RSS), fmt.Sprintf("whole process after the round (peak %s); includes simulator and bench", mib(r.PeakRSS)))
	row("live heap", mib(r.Heap), "after two GCs, whole process")
	for _, k := range []string{"daemon", "broker", "simulator", "bench"} {
		row("  heap: "+k, mib(r.HeapShares[k]), heapShareNote[k])
	}
	if r.Duration > 0 {
		idle := r.perMinute(float64(r.IdleCPU))
		row("CPU per minute idle", fmt.Sprintf("%.2f s (%.2f %% of a core)", time.Duration(idle).Seconds(), idle/float64(time.Minute)*100),
			fmt.Sprintf("schedule held for %s: keep-alives and what daemon and broker do by themselves", r.Duration))
		row("MQTT idle", fmt.Sprintf("%.0f msgs/min, %.0f B/min", r.perMinute(float64(r.IdleMsgs)), r.perMinute(float64(r.IdleBytes))), "as the observer received them")
		steady := r.perMinute(float64(r.SteadyCPU))
		row("CPU per minute steady", fmt.Sprintf("%.2f s (%.2f %% of a core)", time.Duration(steady).Seconds(), steady/float64(time.Minute)*100),
			fmt.Sprintf("default schedule for %s; includes the simulator serving", r.Duration))
		row("MQTT steady", fmt.Sprintf("%.0f msgs/min, %s/min", r.perMinute(float64(r.SteadyMsgs)), mib(int64(r.perMinute(float64(r.SteadyBytes))))), "as the observer received them")
	}
}

var heapShareNote = map[string]string{
	"daemon":    "bridge, Fleet client, MQTT client, runtime (estimate from the heap profile)",
	"broker":    "embedded mochi broker: stacks through mochi or mqtt/broker",
	"simulator": "fleetsim and its HTTP serving",
	"bench":     "the bench's observer",
}
