package awsops

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"
)

// The default schedule polls at once, then at 0.25, 0.625, 1.125 … s, each
// gap ×1.5 up to 500 ms, so a 1–4 s attach or detach is seen soon after it ends.
func TestPollDefaultSchedule(t *testing.T) {
	o := DefaultOptions()
	require.Equal(t, WaitOptions{Initial: 250 * time.Millisecond, Max: 500 * time.Millisecond, Factor: 1.5,
		StuckAttaching: 90 * time.Second, StuckDetaching: 60 * time.Second}, o.Wait)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fc := clocktesting.NewFakeClock(start)
	c := &Client{opts: o, clock: fc}
	wantGaps := []time.Duration{0, 250 * time.Millisecond, 375 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}

	seen := make(chan time.Duration)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		n := 0
		done <- c.poll(ctx, "the schedule", func(context.Context) (bool, string, error) {
			n++
			select {
			case seen <- fc.Since(start):
			case <-ctx.Done():
			}
			return n == len(wantGaps), "polled", nil
		})
	}()
	var at time.Duration
	for i, gap := range wantGaps {
		if gap > 0 {
			require.Eventually(t, fc.HasWaiters, 5*time.Second, time.Millisecond, "poll %d: wait for the timer", i)
			fc.Step(gap - time.Nanosecond)
			require.True(t, fc.HasWaiters(), "poll %d came before %s", i, gap)
			fc.Step(time.Nanosecond)
			at += gap
		}
		select {
		case got := <-seen:
			require.Equal(t, at, got, "poll %d", i)
		case <-ctx.Done():
			t.Fatalf("poll %d at %s never came", i, at)
		}
	}
	require.NoError(t, <-done)
}
