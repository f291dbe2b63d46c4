package main

import (
	"bufio"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the process's user + system CPU time so far (getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus returns VmRSS and VmHWM (peak RSS) in bytes from
// /proc/self/status; zero where the system has none.
func procStatus() (rss, peak int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}

// liveHeap collects twice (the heap profile describes the heap as of the
// last completed cycle) and returns the live heap in bytes.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// heapShares splits the in-use heap by who allocated it, from the heap
// profile's stacks: the embedded broker (mochi and its wrapper), the
// simulator, the bench itself (its observer), and the daemon (the rest:
// bridge, Fleet client, MQTT client, runtime). Sampled records are scaled
// the way pprof scales them, so the shares are estimates.
func heapShares() map[string]int64 {
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	out := map[string]int64{}
	for _, r := range recs {
		objs, bytes := r.InUseObjects(), r.InUseBytes()
		if bytes <= 0 {
			continue
		}
		scale := 1.0
		if rate > 1 && objs > 0 {
			avg := float64(bytes) / float64(objs)
			scale = 1 / (1 - math.Exp(-avg/rate))
		}
		out[heapOwner(r.Stack())] += int64(float64(bytes) * scale)
	}
	return out
}

// heapOwner names the part of the process a stack belongs to.
func heapOwner(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	owner := "daemon"
	for {
		f, more := frames.Next()
		switch fn := f.Function; {
		case strings.Contains(fn, "mochi-mqtt/server") || strings.Contains(fn, "/mqtt/broker."):
			return "broker"
		case strings.Contains(fn, "/fleet/fleetsim."):
			return "simulator"
		case strings.Contains(fn, "main.(*scaleObserver)") || strings.Contains(fn, "main.newScaleObserver"):
			owner = "bench"
		}
		if !more {
			return owner
		}
	}
}
