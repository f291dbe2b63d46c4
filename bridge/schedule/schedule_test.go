package schedule

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// dstNights are the nights the clocks change in 2027 in the two zones the
// users we know of live in most.
var dstNights = []struct {
	zone, name string
	day        [3]int // the local date of the change
	spring     bool
}{
	{"Europe/Berlin", "spring forward", [3]int{2027, 3, 28}, true},
	{"Europe/Berlin", "fall back", [3]int{2027, 10, 31}, false},
	{"America/New_York", "spring forward", [3]int{2027, 3, 14}, true},
	{"America/New_York", "fall back", [3]int{2027, 11, 7}, false},
}

// runSchedule steps a clock minute by minute from start to end and returns
// when each job ran.
func runSchedule(t *testing.T, loc *time.Location, start, end time.Time, specs map[string]string) map[string][]time.Time {
	t.Helper()
	clk := clock.NewManual(start)
	s := NewCron(clk, loc, zerolog.Nop()).Stepped()
	var mu sync.Mutex
	runs := map[string][]time.Time{}
	for name, spec := range specs {
		if err := s.Add(name, spec, func() {
			mu.Lock()
			runs[name] = append(runs[name], clk.Now())
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Start()
	defer s.Stop()
	for clk.Now().Before(end) {
		clk.Advance(time.Minute)
		s.RunDue(clk.Now())
	}
	return runs
}

// TestCronSchedulesAcrossDSTNights runs the bridge's kinds of specs through
// both changes of both zones: robfig/cron runs a time-of-day job twice on
// the fall-back night and not at all when it falls into the skipped hour;
// the scheduler runs it exactly once a day, and interval jobs keep their
// spacing in real time.
func TestCronSchedulesAcrossDSTNights(t *testing.T) {
	for _, n := range dstNights {
		t.Run(n.zone+" "+n.name, func(t *testing.T) {
			loc, err := time.LoadLocation(n.zone)
			if err != nil {
				t.Skipf("no tzdata: %v", err)
			}
			start := time.Date(n.day[0], time.Month(n.day[1]), n.day[2]-1, 0, 0, 0, 0, loc)
			specs := map[string]string{
				"daily_0230":    "30 2 * * *", // in the skipped or repeated hour
				"daily_0115":    "15 1 * * *", // repeated in New York
				"every_minute":  "@every 1m",
				"half_hourly":   "*/30 * * * *",
				"hourly":        "0 * * * *",
				"energy_report": "5 0 * * *",
			}
			// Three whole local days: 71, 72 or 73 hours.
			end := time.Date(n.day[0], time.Month(n.day[1]), n.day[2]+2, 0, 0, 0, 0, loc)
			runs := runSchedule(t, loc, start, end, specs)
			for _, daily := range []string{"daily_0230", "daily_0115", "energy_report"} {
				days := map[string]int{}
				for _, at := range runs[daily] {
					days[at.In(loc).Format("2006-01-02")]++
				}
				if len(days) != 3 {
					t.Errorf("%s ran on %d local days in 3: %v", daily, len(days), runs[daily])
				}
				for day, c := range days {
					if c != 1 {
						t.Errorf("%s ran %d times on %s: %v", daily, c, day, runs[daily])
					}
				}
			}
			changeDay := time.Date(n.day[0], time.Month(n.day[1]), n.day[2], 0, 0, 0, 0, loc).Format("2006-01-02")
			for _, at := range runs["daily_0230"] {
				if at.In(loc).Format("2006-01-02") != changeDay {
					continue
				}
				want := "02:30"
				if n.spring {
					want = "03:00" // 02:30 does not exist: it runs as the clocks jump
				}
				if got := at.In(loc).Format("15:04"); got != want {
					t.Errorf("daily 02:30 ran at %s on the change night, want %s", got, want)
				}
			}
			for job, period := range map[string]time.Duration{"every_minute": time.Minute, "half_hourly": 30 * time.Minute, "hourly": time.Hour} {
				r := runs[job]
				for i := 1; i < len(r); i++ {
					if gap := r[i].Sub(r[i-1]); gap <= 0 || gap > period {
						t.Errorf("%s: %v between %v and %v (period %v)", job, gap, r[i-1].In(loc), r[i].In(loc), period)
					}
				}
				if want := int(end.Sub(start)/period) - 1; len(r) < want {
					t.Errorf("%s ran %d times in %v, want at least %d", job, len(r), end.Sub(start), want)
				}
			}
		})
	}
}

// TestCronScheduleOnLeapDay: a yearly 29 February job runs on 2028-02-29
// and monthly jobs run on 1 March after it.
func TestCronScheduleOnLeapDay(t *testing.T) {
	start := time.Date(2028, 2, 27, 0, 0, 0, 0, time.UTC)
	runs := runSchedule(t, time.UTC, start, start.Add(4*24*time.Hour), map[string]string{
		"leap":    "0 12 29 2 *",
		"monthly": "0 0 1 * *",
		"daily":   "0 6 * * *",
	})
	if r := runs["leap"]; len(r) != 1 || !r[0].Equal(time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("leap-day job ran at %v", r)
	}
	if r := runs["monthly"]; len(r) != 1 || !r[0].Equal(time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("monthly job ran at %v", r)
	}
	if r := runs["daily"]; len(r) != 4 {
		t.Errorf("daily job ran %d times over 27 Feb–1 Mar: %v", len(r), r)
	}
}

// TestCronTimingLoop: on its own loop the scheduler runs a job
// when the clock reaches it, recovers a panic, skips a turn while the job
// still runs, and Stop waits for the running job.
func TestCronTimingLoop(t *testing.T) {
	clk := clock.NewManual(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	s := NewCron(clk, time.UTC, zerolog.Nop())
	ran := make(chan time.Time, 10)
	release := make(chan struct{})
	if err := s.Add("slow", "@every 1m", func() { ran <- clk.Now(); <-release }); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("panics", "@every 1m", func() { panic("odd data") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("bad", "61 * * * *", func() {}); err == nil {
		t.Error("an invalid spec was accepted")
	}
	s.Start()
	ctx := context.Background()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if at := <-ran; !at.Equal(time.Date(2027, 1, 1, 0, 1, 0, 0, time.UTC)) {
		t.Errorf("ran at %v", at)
	}
	// The job still runs at its next turn: that turn is skipped.
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-ran:
		t.Fatalf("a second turn started at %v while the first still ran", at)
	default:
	}
	stopped := s.Stop()
	select {
	case <-stopped.Done():
		t.Fatal("Stop did not wait for the running job")
	default:
	}
	close(release)
	<-stopped.Done()
}
