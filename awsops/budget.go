package awsops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// Bucket is one of EC2's request-token buckets: it holds at most Size
// tokens, every request takes one, and Refill tokens come back per second.
type Bucket struct {
	Size   float64
	Refill float64
}

// The account's published request-token buckets per action, from AWS's
// "Request throttling for the Amazon EC2 API"
// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html,
// "Request token bucket sizes and refill rates"):
//   - non-mutating actions (Describe*), 100 tokens, 20 per second;
//   - unfiltered and unpaginated non-mutating actions (DescribeInstances,
//     DescribeInstanceStatus, DescribeVolumes without a filter and without
//     pagination), a smaller bucket of their own: 50 tokens, 10 per second;
//   - mutating actions (AttachVolume, DetachVolume, StopInstances,
//     ModifyInstanceAttribute), 50 tokens, 5 per second;
//   - CreateTags is an "uncategorized" action with its own bucket: 100
//     tokens, 10 per second.
//
// StopInstances also spends a resource token per instance (1000, 20 per
// second); with at most one stop per owner host that bucket is never the
// tighter one, so it is not modelled.
var (
	bucketNonMutating = Bucket{Size: 100, Refill: 20}
	bucketUnfiltered  = Bucket{Size: 50, Refill: 10}
	bucketMutating    = Bucket{Size: 50, Refill: 5}
	bucketCreateTags  = Bucket{Size: 100, Refill: 10}
)

// unfilteredSuffix names the small bucket of an action asked without a
// filter and without pagination.
const unfilteredSuffix = "/unfiltered"

// AccountBuckets returns the published bucket of every action this package
// calls, keyed as the limiter keys them: the action's name, and for the three
// describes that have one, "<action>/unfiltered" for their small bucket.
func AccountBuckets() map[string]Bucket {
	return map[string]Bucket{
		"DescribeVolumes":                           bucketNonMutating,
		"DescribeVolumes" + unfilteredSuffix:        bucketUnfiltered,
		"DescribeInstances":                         bucketNonMutating,
		"DescribeInstances" + unfilteredSuffix:      bucketUnfiltered,
		"DescribeInstanceStatus":                    bucketNonMutating,
		"DescribeInstanceStatus" + unfilteredSuffix: bucketUnfiltered,
		"AttachVolume":                              bucketMutating,
		"DetachVolume":                              bucketMutating,
		"StopInstances":                             bucketMutating,
		"ModifyInstanceAttribute":                   bucketMutating,
		"CreateTags":                                bucketCreateTags,
	}
}

// budget is the client-side rate limiter: one token bucket per EC2 bucket
// (golang.org/x/time/rate), each sized to the configured share of the
// account's. It gates every HTTP attempt, SDK retries included, so a
// throttled call's retries spend the same budget and cannot storm.
//
// Why x/time/rate and not the SDK's adaptive retry mode: the adaptive mode
// (aws/retry.AdaptiveMode) keeps one client-wide rate, learnt from throttle
// answers (CUBIC), so it first has to be throttled to slow down, and it
// cannot tell AttachVolume's 5/s bucket from DescribeVolumes' 20/s one.
// EC2 publishes its buckets per action; a limiter per action, sized from
// them, stays below them without a single RequestLimitExceeded.
type budget struct {
	clk   clock.Clock
	share float64
	// waited counts the waits, per action.
	waited func(action string, d time.Duration)
	// limiters is bucket key → limiter; read-only once built.
	limiters map[string]*rate.Limiter

	mu sync.Mutex
	// fallback holds the limiters of actions not in the table, sized as
	// mutating actions, the smallest category.
	fallback map[string]*rate.Limiter
}

// newBudget builds the limiters for share (0 < share ≤ 1) of buckets.
func newBudget(clk clock.Clock, share float64, buckets map[string]Bucket, waited func(action string, d time.Duration)) *budget {
	b := &budget{clk: clk, limiters: map[string]*rate.Limiter{}, fallback: map[string]*rate.Limiter{}, share: share, waited: waited}
	for k, bk := range buckets {
		b.limiters[k] = limiterFor(bk, share)
	}
	return b
}

// limiterFor is a limiter with share of bk's refill rate and size; its burst
// is at least 1 so that a call can always be made.
func limiterFor(bk Bucket, share float64) *rate.Limiter {
	burst := max(1, int(bk.Size*share))
	return rate.NewLimiter(rate.Limit(bk.Refill*share), burst)
}

func (b *budget) limiter(key string) *rate.Limiter {
	if l, ok := b.limiters[key]; ok {
		return l
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.fallback[key]
	if !ok {
		l = limiterFor(bucketMutating, b.share)
		b.fallback[key] = l
	}
	return l
}

// wait takes one token of key's bucket, waiting on the injected clock for
// it; it gives up (without the token) when ctx ends or its deadline comes
// before the token would.
func (b *budget) wait(ctx context.Context, action, key string) error {
	l := b.limiter(key)
	now := b.clk.Now()
	r := l.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("ec2 budget %s: no token can ever be had", key)
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	// Context deadlines are wall-clock times, whatever clock measures the wait.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.CancelAt(now)
		// Client-side throttling: callers that wait out EC2's own throttles
		// (ErrThrottled) wait this out too.
		return fmt.Errorf("%w: ec2 budget %s: the next token comes in %s, after the call's deadline", ErrThrottled, key, d.Round(time.Millisecond))
	}
	t := b.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		r.CancelAt(b.clk.Now())
		b.waited(action, b.clk.Since(now))
		return fmt.Errorf("ec2 budget %s: waiting for a token: %w", key, ctx.Err())
	case <-t.C():
		b.waited(action, d)
		return nil
	}
}

// bucketKey says which bucket a request of action with input in spends.
func bucketKey(action string, in any) string {
	if unfiltered(in) {
		return action + unfilteredSuffix
	}
	return action
}

// unfiltered reports whether a describe asks without a filter and without
// pagination (no Filters, no MaxResults, no NextToken): such a request
// spends the action's small bucket.
func unfiltered(in any) bool {
	switch in := in.(type) {
	case *ec2.DescribeVolumesInput:
		return plain(in.Filters, in.MaxResults, in.NextToken)
	case *ec2.DescribeInstancesInput:
		return plain(in.Filters, in.MaxResults, in.NextToken)
	case *ec2.DescribeInstanceStatusInput:
		return plain(in.Filters, in.MaxResults, in.NextToken)
	}
	return false
}

func plain(f []types.Filter, maxResults *int32, next *string) bool {
	return len(f) == 0 && maxResults == nil && aws.ToString(next) == ""
}

// bucketKeyOf carries an operation's bucket from the initialize step, where
// the input is known, to the finalize step, which runs once per attempt.
type bucketKeyOf struct{}

// install adds the limiter to an SDK stack: the bucket is chosen from the
// input once per operation, and a token is taken before every attempt,
// inside the retry loop (finalize step, after "Retry").
func (b *budget) install(stack *middleware.Stack) error {
	pick := middleware.InitializeMiddlewareFunc("awsopsBudgetBucket", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler,
	) (middleware.InitializeOutput, middleware.Metadata, error) {
		ctx = middleware.WithStackValue(ctx, bucketKeyOf{}, bucketKey(middleware.GetOperationName(ctx), in.Parameters))
		return next.HandleInitialize(ctx, in)
	})
	if err := stack.Initialize.Add(pick, middleware.After); err != nil {
		return err
	}
	gate := middleware.FinalizeMiddlewareFunc("awsopsBudgetGate", func(
		ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
	) (middleware.FinalizeOutput, middleware.Metadata, error) {
		action := middleware.GetOperationName(ctx)
		key, _ := middleware.GetStackValue(ctx, bucketKeyOf{}).(string)
		if key == "" {
			key = action
		}
		if err := b.wait(ctx, action, key); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		return next.HandleFinalize(ctx, in)
	})
	return stack.Finalize.Insert(gate, "Retry", middleware.After)
}
