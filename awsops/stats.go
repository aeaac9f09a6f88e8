package awsops

import (
	"context"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

// ActionStats counts the EC2 traffic of one action since the Client was made.
type ActionStats struct {
	// Calls is the number of operations (one per SDK call, retries included in it).
	Calls uint64
	// Attempts is the number of HTTP attempts, retries included.
	Attempts uint64
	// Errors is the number of operations that ended in an error.
	Errors uint64
	// Throttles is the number of attempts EC2 throttled.
	Throttles uint64
	// BudgetWaits is the number of attempts that waited for a token of the
	// client's budget, and BudgetWaitSeconds how long they waited in all.
	BudgetWaits       uint64
	BudgetWaitSeconds float64
}

// stats holds the counters behind (*Client).Stats.
type stats struct {
	mu sync.Mutex
	m  map[string]ActionStats
}

func (s *stats) add(action string, f func(*ActionStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.m[action]
	f(&a)
	s.m[action] = a
}

func (s *stats) snapshot() map[string]ActionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]ActionStats, len(s.m))
	for k, v := range s.m {
		out[k] = v
	}
	return out
}

// Stats returns a copy of the per-action counters, keyed by EC2 action name
// (e.g. "DescribeVolumes"), for metrics.
func (c *Client) Stats() map[string]ActionStats {
	return c.stats.snapshot()
}

// install adds the counting middleware to an SDK stack: one per operation
// (outermost) and one per attempt (inside the retry loop).
func (s *stats) install(stack *middleware.Stack) error {
	op := middleware.InitializeMiddlewareFunc("awsopsCountCalls", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler,
	) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		s.add(middleware.GetOperationName(ctx), func(a *ActionStats) {
			a.Calls++
			if err != nil {
				a.Errors++
			}
		})
		return out, md, err
	})
	if err := stack.Initialize.Add(op, middleware.Before); err != nil {
		return err
	}
	attempt := middleware.FinalizeMiddlewareFunc("awsopsCountAttempts", func(
		ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
	) (middleware.FinalizeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleFinalize(ctx, in)
		s.add(middleware.GetOperationName(ctx), func(a *ActionStats) {
			a.Attempts++
			if isThrottle(err) {
				a.Throttles++
			}
		})
		return out, md, err
	})
	return stack.Finalize.Insert(attempt, "Retry", middleware.After)
}
