package awsops

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// A storm throttles the first `storm` attempts of every call; the SDK
// retryers ride it out within the deadline, and Stats counts it.
func TestThrottleStorm(t *testing.T) {
	const storm = 3 // below ReadMaxAttempts (5) and MaxAttempts (10)
	e := newEnv(t, pairSeed(), detachLat, nil)
	for a := 1; a <= storm; a++ {
		e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Attempt: a, Sticky: true, RetryAfter: time.Millisecond})
	}
	ctx := testCtx(t, 10*time.Second)
	require.NoError(t, e.c.DetachVolume(ctx, vid(1), iid(1), true))
	_, err := e.c.AttachVolume(ctx, vid(1), iid(2), []string{"/dev/xvdf"})
	require.NoError(t, err)
	require.NoError(t, e.c.StopInstance(ctx, iid(1), true))
	got, err := e.c.Instances(ctx, []string{iid(1), iid(2)})
	require.NoError(t, err)
	require.Len(t, got, 2)
	e.sim.ClearFaults()

	j := e.sim.Journal()
	throttled := map[string]uint64{}
	attempts := map[string]uint64{}
	for _, c := range j {
		attempts[c.Action]++
		if c.Code == "RequestLimitExceeded" {
			throttled[c.Action]++
		}
	}
	st := e.c.Stats()
	for action, n := range attempts {
		require.Equal(t, n, st[action].Attempts, "%s attempts: stats vs journal", action)
		require.Equal(t, throttled[action], st[action].Throttles, "%s throttles: stats vs journal", action)
		require.Equal(t, st[action].Calls*storm, st[action].Throttles, "%s: every call throttled %d times", action, storm)
		require.Zero(t, st[action].Errors, "%s: no call may fail", action)
	}
}

// Beyond the attempts the error is classified as throttled.
func TestThrottleExhausted(t *testing.T) {
	e := newEnv(t, pairSeed(), nil, func(o *Options) { o.ReadMaxAttempts = 2 })
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Action: "DescribeVolumes", Sticky: true})
	_, err := e.c.ManagedVolumes(testCtx(t, 5*time.Second))
	require.ErrorIs(t, err, ErrThrottled)
	require.ErrorContains(t, err, "describe managed volumes")
	require.Len(t, calls(e.sim.Journal(), "DescribeVolumes"), 2)
	require.Equal(t, ActionStats{Calls: 1, Attempts: 2, Errors: 1, Throttles: 2}, e.c.Stats()["DescribeVolumes"])
}

// A storm far longer than the SDK's retry quota (500 tokens at 5 per
// throttled retry: 100 retries) is ridden out call by call: every read and
// mutation is throttled on its first attempts and still succeeds, and no
// call fails with "retry quota exceeded".
func TestThrottleStormBeyondRetryQuota(t *testing.T) {
	const perCall, reads = 4, 40 // 160 throttled read retries, below ReadMaxAttempts (5) each
	e := newEnv(t, pairSeed(), detachLat, nil)
	for a := 1; a <= perCall; a++ {
		e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Attempt: a, Sticky: true})
	}
	ctx := testCtx(t, 15*time.Second)
	for i := range reads {
		var err error
		if i%2 == 0 {
			_, err = e.c.Volumes(ctx, []string{vid(1)})
		} else {
			_, err = e.c.Instances(ctx, []string{iid(1)})
		}
		require.NoError(t, err, "read %d in the storm", i)
	}
	require.NoError(t, e.c.DetachVolume(ctx, vid(1), iid(1), true))
	_, err := e.c.AttachVolume(ctx, vid(1), iid(2), []string{"/dev/xvdf"})
	require.NoError(t, err)
	e.sim.ClearFaults()

	var throttles, errs uint64
	for action, st := range e.c.Stats() {
		require.Equal(t, st.Calls*perCall, st.Throttles, "%s: every call throttled %d times", action, perCall)
		throttles += st.Throttles
		errs += st.Errors
	}
	t.Logf("rode out %d throttled attempts without a failed call", throttles)
	require.Greater(t, throttles, uint64(100), "the storm must outlast the default retry quota")
	require.Zero(t, errs)
}
