package awsops

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// batchEnv is an ec2sim of n instances (and their volumes) whose bucket for
// action holds one token, refilled once a second on a fake clock: the first
// call spends it, and calls made meanwhile pile up behind the next.
func batchEnv(t *testing.T, n int, action string) (*env, *clocktesting.FakeClock) {
	t.Helper()
	fc := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, fleetSeed(n, 0), nil, func(o *Options) {
		o.Clock = fc
		o.BudgetShare = 1
		o.Buckets[action] = Bucket{Size: 1, Refill: 1}
	})
	return e, fc
}

// pendingOf counts the asks waiting behind a coalescer's call.
func pendingOf[T any](c *coalescer[T]) func() int {
	return func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending)
	}
}

// stepUntil refills the buckets (a second of fake time every millisecond)
// until the test ends: the calls that piled up go out batch by batch.
func stepUntil(t *testing.T, fc *clocktesting.FakeClock) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				fc.Step(time.Second)
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
}

// collect waits for n outcomes of concurrent calls, keyed by what they asked.
func collect(t *testing.T, n int, ch <-chan [2]any) map[string]error {
	t.Helper()
	out := map[string]error{}
	for range n {
		select {
		case r := <-ch:
			err, _ := r[1].(error)
			out[r[0].(string)] = err
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d calls returned", len(out), n)
		}
	}
	return out
}

// Fences asked while a StopInstances waits for its token go out as one
// call. One instance of that batch has stop protection: EC2 fails the whole
// call naming it; it alone gets ErrStopRefused, and the others are sent
// again, together, and stopped.
func TestStopsBatchedWithPartialFailure(t *testing.T) {
	const n = 10
	e, fc := batchEnv(t, n+1, "StopInstances")
	require.NoError(t, e.sim.SetStopProtection(iid(5), true))
	ctx := testCtx(t, 10*time.Second)
	require.NoError(t, e.c.StopInstance(ctx, iid(n+1), true)) // spends the token

	out := make(chan [2]any, n)
	for k := 1; k <= n; k++ {
		go func() { out <- [2]any{iid(k), e.c.StopInstance(ctx, iid(k), true)} }()
	}
	pending := pendingOf(e.c.stops[true])
	require.Eventually(t, func() bool { return fc.HasWaiters() && pending() == n-1 }, 5*time.Second, time.Millisecond, "stops never piled up")
	stepUntil(t, fc)
	got := collect(t, n, out)

	for k := 1; k <= n; k++ {
		if k == 5 {
			require.ErrorIs(t, got[iid(k)], ErrStopRefused, "protected instance")
			continue
		}
		require.NoError(t, got[iid(k)], "instance %d", k)
	}
	insts, err := e.c.Instances(ctx, iids(1, n))
	require.NoError(t, err)
	for k := 1; k <= n; k++ {
		if k == 5 {
			require.Equal(t, "running", insts[iid(k)].State, "protected instance")
			continue
		}
		require.Contains(t, []string{"stopping", "stopped"}, insts[iid(k)].State, "instance %d", k)
	}
	// The one that led may be any of the ten: the protected one alone (then
	// the nine together), or another alone (then the nine, refused, and
	// the eight again).
	stops := calls(e.sim.Journal(), "StopInstances")[1:]
	refused, largest := 0, 0
	for _, c := range stops {
		if c.Code == "OperationNotPermitted" {
			refused++
		}
		largest = max(largest, idsOf(c, "InstanceId."))
	}
	require.Equal(t, 1, refused, "one refusal, for instance 5")
	require.LessOrEqual(t, len(stops), 3, "the leader alone, the batch, and at most one resend of the batch")
	require.GreaterOrEqual(t, largest, n-2, "the fences that piled up went out together")
	require.Equal(t, "true", stops[len(stops)-1].Params.Get("SkipOsShutdown"))
}

// Identical taggings asked together share one CreateTags; different tag
// sets cannot, and each gets its own.
func TestTagsBatchedByTagSet(t *testing.T) {
	const n = 6
	e, fc := batchEnv(t, n+1, "CreateTags")
	ctx := testCtx(t, 10*time.Second)
	require.NoError(t, e.c.TagVolume(ctx, vid(n+1), map[string]string{"k": "first"})) // spends the token

	out := make(chan [2]any, n)
	for k := 1; k <= n; k++ {
		go func() {
			v := "even"
			if k%2 == 1 {
				v = "odd"
			}
			out <- [2]any{vid(k), e.c.TagVolume(ctx, vid(k), map[string]string{"k": v})}
		}()
	}
	pending := pendingOf(e.c.tagReqs)
	require.Eventually(t, func() bool { return fc.HasWaiters() && pending() == n-1 }, 5*time.Second, time.Millisecond, "taggings never piled up")
	stepUntil(t, fc)
	got := collect(t, n, out)
	for k := 1; k <= n; k++ {
		require.NoError(t, got[vid(k)])
	}
	vols, err := e.c.Volumes(ctx, vids(1, n))
	require.NoError(t, err)
	for k := 1; k <= n; k++ {
		want := map[bool]string{true: "odd", false: "even"}[k%2 == 1]
		require.Equal(t, want, vols[vid(k)].Tags["k"], "volume %d", k)
	}
	tags := calls(e.sim.Journal(), "CreateTags")
	require.Len(t, tags, 4, "first, leader, then one per tag set")
	sizes := []int{idsOf(tags[2], "ResourceId."), idsOf(tags[3], "ResourceId.")}
	slices.Sort(sizes)
	require.Equal(t, []int{2, 3}, sizes, "the five waiting: two of the leader's tag set, three of the other")
}

// idsOf counts the IDs of a call's list parameter (prefix "InstanceId.").
func idsOf(c ec2sim.Call, prefix string) int {
	n := 0
	for k := range c.Params {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// vids are the volume IDs from..to.
func vids(from, to int) []string {
	var out []string
	for k := from; k <= to; k++ {
		out = append(out, vid(k))
	}
	return out
}
