package awsops

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A read whose context ends while it waits behind a call withdraws: it
// returns at once with its context's error, and the next call neither asks
// for its ID nor waits for it; the reads still waiting get their answers.
func TestCoalescerWithdrawal(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var asked [][]string
	c := newCoalescer(func(ctx context.Context, ids []string) (map[string]int, error) {
		mu.Lock()
		asked = append(asked, slices.Clone(ids))
		first := len(asked) == 1
		mu.Unlock()
		if first {
			<-release
		}
		out := map[string]int{}
		for i, id := range ids {
			out[id] = i
		}
		return out, nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	results := make(chan error, 3)
	go func() { _, err := c.get(ctx, []string{"a"}); results <- err }()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(asked) == 1 }, 5*time.Second, time.Millisecond, "first call never made")

	bctx, bcancel := context.WithCancel(ctx)
	bdone := make(chan error, 1)
	go func() { _, err := c.get(bctx, []string{"b"}); bdone <- err }()
	go func() { _, err := c.get(ctx, []string{"c"}); results <- err }()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.pending) == 2 }, 5*time.Second, time.Millisecond, "reads never waited")
	bcancel()
	select {
	case err := <-bdone:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("withdrawn read did not return")
	}
	close(release)
	for range 2 {
		select {
		case err := <-results:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("a read never got its answer")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, [][]string{{"a"}, {"c"}}, asked, "the withdrawn read's ID is not asked for")
	c.mu.Lock()
	defer c.mu.Unlock()
	require.False(t, c.busy, "the coalescer is idle again")
}
