package awsops

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pollFunc inspects the world once. done ends the wait successfully; a
// non-nil error ends it with that error; state describes what was seen, for
// the error returned when the context ends first.
type pollFunc func(ctx context.Context) (done bool, state string, err error)

// poll calls f at once and then after Wait.Initial, ×Wait.Factor each time
// up to Wait.Max, until f is done, fails, or ctx ends. what names the goal
// in the error, e.g. "vol-1 attached to i-2". Throttling and 5xx errors
// from f, left after the SDK's own retries, do not end the wait.
func (c *Client) poll(ctx context.Context, what string, f pollFunc) error {
	w := c.opts.Wait
	delay := w.Initial
	last := "nothing seen yet"
	for {
		done, state, err := f(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("wait for %s (last seen: %s): %w", what, last, ctx.Err())
		case err != nil && (errors.Is(err, ErrThrottled) || errors.Is(err, ErrServer)):
			// The SDK already retried; a wait outlives a bad minute of EC2.
			state = "read failed: " + err.Error()
		case err != nil:
			return err
		}
		if done {
			return nil
		}
		if state != "" {
			last = state
		}
		t := c.clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for %s (last seen: %s): %w", what, last, ctx.Err())
		case <-t.C():
		}
		delay = min(time.Duration(float64(delay)*w.Factor), w.Max)
	}
}
