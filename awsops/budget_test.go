package awsops

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// The client takes a token of the action's bucket before every attempt, its
// SDK retries included, and waits (on its clock) for one when the bucket is
// empty: a throttled call's retry spends the budget, and the next call is
// not sent before the refill.
func TestBudgetGatesEveryAttempt(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, pairSeed(), nil, func(o *Options) {
		o.Clock = fc
		o.BudgetShare = 0.5
		// Half of 4 tokens, refilled at half of 2 per second: 2 at once, then 1 per second.
		o.Buckets["DescribeVolumes"] = Bucket{Size: 4, Refill: 2}
	})
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Action: "DescribeVolumes", Attempt: 1, RetryAfter: time.Millisecond})
	ctx := testCtx(t, 10*time.Second)

	_, err := e.c.ManagedVolumes(ctx) // attempt 1 throttled by EC2, attempt 2 served: both tokens spent
	require.NoError(t, err)
	require.Len(t, calls(e.sim.Journal(), "DescribeVolumes"), 2, "first call: the throttled attempt and its retry")

	done := make(chan error, 1)
	go func() {
		_, err := e.c.ManagedVolumes(ctx)
		done <- err
	}()
	require.Eventually(t, fc.HasWaiters, 5*time.Second, time.Millisecond, "second call never waited for a token")
	require.Len(t, calls(e.sim.Journal(), "DescribeVolumes"), 2, "second call sent before its token came")
	fc.Step(time.Second)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("second call did not go out once a token came")
	}
	require.Len(t, calls(e.sim.Journal(), "DescribeVolumes"), 3)
	st := e.c.Stats()["DescribeVolumes"]
	require.Equal(t, uint64(1), st.BudgetWaits, "one attempt waited")
	require.InDelta(t, 1.0, st.BudgetWaitSeconds, 1e-9, "for one (fake) second")
}

// A call whose deadline comes before the next token fails at once as
// throttled, without sending anything and without spending the token.
func TestBudgetDeadlineBeforeToken(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, pairSeed(), nil, func(o *Options) {
		o.Clock = fc
		o.BudgetShare = 1
		o.Buckets["DescribeVolumes"] = Bucket{Size: 1, Refill: 0.1}
	})
	_, err := e.c.ManagedVolumes(testCtx(t, 5*time.Second))
	require.NoError(t, err)
	_, err = e.c.ManagedVolumes(testCtx(t, 5*time.Second)) // next token in 10 s
	require.ErrorIs(t, err, ErrThrottled)
	require.ErrorContains(t, err, "ec2 budget DescribeVolumes")
	require.Len(t, calls(e.sim.Journal(), "DescribeVolumes"), 1)
}

// Describes without a filter and without pagination spend their action's
// small bucket; with either they spend the large one, as EC2 counts them.
func TestBucketKey(t *testing.T) {
	for _, tc := range []struct {
		name, action string
		in           any
		want         string
	}{
		{"by id", "DescribeVolumes", &ec2.DescribeVolumesInput{VolumeIds: []string{"vol-1"}}, "DescribeVolumes/unfiltered"},
		{"filtered", "DescribeVolumes", &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("volume-id")}}}, "DescribeVolumes"},
		{"paged", "DescribeInstances", &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}, "DescribeInstances"},
		{"status by id", "DescribeInstanceStatus", &ec2.DescribeInstanceStatusInput{InstanceIds: []string{"i-1"}}, "DescribeInstanceStatus/unfiltered"},
		{"mutation", "AttachVolume", &ec2.AttachVolumeInput{}, "AttachVolume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, bucketKey(tc.action, tc.in))
			_, known := AccountBuckets()[tc.want]
			require.True(t, known, "no published bucket for %s", tc.want)
		})
	}
}

// Reads that come while a describe waits for its token are merged into the
// next describe: 50 concurrent reads of single volumes cost two calls, and
// each gets its own volume.
func TestConcurrentReadsShareDescribes(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const n = 50
	e := newEnv(t, fleetSeed(n, 0), nil, func(o *Options) {
		o.Clock = fc
		o.BudgetShare = 1
		o.Buckets["DescribeVolumes"] = Bucket{Size: 1, Refill: 1}
	})
	ctx := testCtx(t, 10*time.Second)
	_, err := e.c.Volumes(ctx, []string{vid(1)}) // spends the one token
	require.NoError(t, err)
	e.sim.ResetJournal()

	errs := make(chan error, n)
	for k := 1; k <= n; k++ {
		go func() {
			v, err := e.c.volume(ctx, vid(k))
			if err == nil && v.ID != vid(k) {
				err = fmt.Errorf("read of %s answered %s", vid(k), v.ID)
			}
			errs <- err
		}()
	}
	pending := func() int {
		e.c.volumeReads.mu.Lock()
		defer e.c.volumeReads.mu.Unlock()
		return len(e.c.volumeReads.pending)
	}
	// One read leads and waits for a token; the others wait behind it.
	require.Eventually(t, func() bool { return fc.HasWaiters() && pending() == n-1 }, 5*time.Second, time.Millisecond, "reads never piled up behind the first")
	fc.Step(time.Second) // the first read's describe goes out
	require.Eventually(t, fc.HasWaiters, 5*time.Second, time.Millisecond, "the merged read never waited for its token")
	fc.Step(time.Second) // the other 49 go out together
	for range n {
		select {
		case err := <-errs:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("a read never got its answer")
		}
	}
	dv := calls(e.sim.Journal(), "DescribeVolumes")
	require.Len(t, dv, 2, "the leader's describe, then one for everyone who came meanwhile")
}
