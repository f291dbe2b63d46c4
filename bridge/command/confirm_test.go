package command

import (
	"context"
	"testing"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock/clocktest"
)

// A burst's jobs share one confirming read: the last of a set message's
// jobs reads for all. When the follow-up a job announced never arrives
// (refused at the door), the read still comes, confirmSettle later.
func TestConfirmingReadCoalescedAndSettled(t *testing.T) {
	clk := clocktest.Manual(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	e, _, _ := run(t, Options{Clock: clk})
	tg := newTarget("car")
	for i, k := range []string{"a", "b", "c"} {
		j := job(k, "set_"+k, "")
		j.More = i < 2
		e.Enqueue(tg, j)
	}
	var confirms []bool
	for range 3 {
		tg.next(t)
		confirms = append(confirms, <-tg.settled)
	}
	if confirms[0] || confirms[1] || !confirms[2] {
		t.Fatalf("confirm flags of a 3-key set = %v, want only the last", confirms)
	}

	// A job that says more follow, and nothing follows.
	j := job("d", "set_d", "")
	j.More = true
	e.Enqueue(tg, j)
	tg.next(t)
	if <-tg.settled {
		t.Fatal("read at once although more was announced")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal("no settle timer")
	}
	clk.Advance(confirmSettle)
	select {
	case c := <-tg.settled:
		if !c {
			t.Fatal("the late read did not confirm")
		}
	case <-ctx.Done():
		t.Fatal("no read after the settle time")
	}
}
