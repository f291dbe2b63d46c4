package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

var t0 = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

func TestManualTimersFireInOrderWhenDue(t *testing.T) {
	c := clock.NewManual(t0)
	late, early := c.NewTimer(2*time.Minute), c.NewTimer(time.Minute)
	stopped := c.NewTimer(30 * time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending timer must report true once")
	}
	c.Advance(59 * time.Second)
	select {
	case <-early.C():
		t.Fatal("fired before its time")
	default:
	}
	c.Advance(2 * time.Minute)
	if got := <-early.C(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("early fired with %v", got)
	}
	if got := <-late.C(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("late fired with %v", got)
	}
	if late.Stop() {
		t.Error("Stop of a fired timer reported true")
	}
	if c.Pending() != 0 {
		t.Errorf("%d timers still pending", c.Pending())
	}
	if now := <-c.NewTimer(0).C(); !now.Equal(c.Now()) {
		t.Error("a zero timer did not fire at once")
	}
}

func TestManualSleepAdvancesOrBlocks(t *testing.T) {
	c := clock.NewManual(t0)
	if err := c.Sleep(context.Background(), 5*time.Second); err != nil || !c.Now().Equal(t0.Add(5*time.Second)) {
		t.Fatalf("default Sleep: err %v, now %v", err, c.Now())
	}
	c.SetSleepBlocks(true)
	done := make(chan error)
	go func() { done <- c.Sleep(context.Background(), time.Minute) }()
	if err := c.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("a blocking Sleep returned before Advance")
	default:
	}
	c.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil {
		t.Error("Sleep on a cancelled context returned nil")
	}
	if c.Pending() != 0 {
		t.Error("a cancelled Sleep left its timer behind")
	}
}

func TestNextDeadlineAndTick(t *testing.T) {
	c := clock.NewManual(t0)
	if _, ok := c.NextDeadline(); ok {
		t.Fatal("deadline without timers")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tick := clock.Tick(ctx, c, 30*time.Second)
	for i := 1; i <= 3; i++ {
		if err := c.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if d, _ := c.NextDeadline(); !d.Equal(t0.Add(time.Duration(i) * 30 * time.Second)) {
			t.Fatalf("tick %d due at %v", i, d)
		}
		c.Advance(30 * time.Second)
		if got := <-tick; !got.Equal(t0.Add(time.Duration(i) * 30 * time.Second)) {
			t.Fatalf("tick %d = %v", i, got)
		}
	}
}

func TestScaledRunsFasterOnItsBase(t *testing.T) {
	base := clock.NewManual(t0)
	start := time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC)
	s := clock.NewScaled(base, start, 60)
	base.Advance(time.Minute)
	if got := s.Now(); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("after a base minute at 60x: %v", got)
	}
	tm := s.NewTimer(time.Hour) // one base minute
	base.Advance(59 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired early")
	default:
	}
	base.Advance(time.Second)
	<-tm.C()
	if clock.Since(s, start) != time.Hour+time.Hour {
		t.Errorf("Since = %v", clock.Since(s, start))
	}
}
