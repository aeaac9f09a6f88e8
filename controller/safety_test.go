package controller

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
	"github.com/volfailover/volfailover/state"
)

// The regression tests of the safety review (issue 11) that need etcd and the
// emulators; the decisions themselves are tested in plan_test.go and
// assess_test.go.

// TestStrictFenceHardStopsAStoppingOwner: an owner already stopping (a
// graceful stop hanging in the guest) is sent the hard stop; before, the
// fence returned without any stop and the strict policy waited forever
// (item 4).
func TestStrictFenceHardStopsAStoppingOwner(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(_ *host, o *Options) { o.FencePolicy = state.FenceStrict }})
	c.start()
	owner := c.owner()
	require.NoError(t, c.ec2.SetInstanceState(owner.id, "stopping"), "the owner's own stop hangs")
	c.kill(owner)
	rec := c.waitDone(1, 15*time.Second)
	c.assertMovedTo(c.byID(rec.To.Instance))
	require.GreaterOrEqual(t, c.ec2Calls("StopInstances"), 1, "the stopping owner was sent the hard stop")
	require.Equal(t, "stopped", c.ec2.InstanceState(owner.id))
}

// TestPermanentStepErrorPagesAtOnce: an IAM denial is paged as step_failed
// at once, long before the step's deadline, and the move goes on by itself
// once the denial is lifted (issue 10 §2).
func TestPermanentStepErrorPagesAtOnce(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(_ *host, o *Options) { o.Deadlines.Attach = time.Minute }})
	deny := c.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnauthorized, Action: "AttachVolume", Sticky: true})
	c.start()
	c.kill(c.owner())
	ev := c.waitPage(alert.KindStepFailed, alert.ActionTrigger, 10*time.Second)
	require.Contains(t, ev.Summary, "attached", "the page names the step")
	require.Zero(t, c.pager.count(alert.KindStepOverdue, alert.ActionTrigger), "paged as failed, not as overdue")
	c.ec2.Disarm(deny)
	rec := c.waitDone(1, 15*time.Second)
	c.assertMovedTo(c.byID(rec.To.Instance))
	require.Eventually(t, func() bool { return len(c.pager.openIncidents("step_failed/")) == 0 }, 5*time.Second, 20*time.Millisecond,
		"waiting for the step_failed page to resolve once the step was done (issue 15 §3)")
}

// TestStrayAttachmentAdopted: the volume turns up attached to an eligible
// host other than the target (a late attach sent by a deposed leader); the
// move adopts it instead of waiting forever (item 6).
func TestStrayAttachmentAdopted(t *testing.T) {
	var c *cluster
	var stray atomic.Value
	c = newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(h *host, o *Options) {
		o.afterStep = func(r *state.Record) {
			if r.Step != state.StepDetached || !stray.CompareAndSwap(nil, "") {
				return
			}
			for _, other := range c.hosts[:len(c.hosts)-1] {
				if other.id != r.To.Instance && other.id != r.From.Instance && !other.ctrl.IsLeader() {
					c.attachBehindTheLeader(r.Volume, other.id)
					stray.Store(other.id)
					return
				}
			}
		}
	}})
	c.start()
	c.kill(c.owner())
	rec := c.waitDone(1, 15*time.Second)
	adopted, _ := stray.Load().(string)
	require.NotEmpty(t, adopted, "a stray attachment was made")
	require.Equal(t, adopted, rec.To.Instance, "the stray host was adopted as the target")
	c.assertMovedTo(c.byID(adopted))
}

// attachBehindTheLeader attaches the volume to instance with a client of its
// own, as a deposed leader's late call would.
func (c *cluster) attachBehindTheLeader(volume, instance string) {
	c.t.Helper()
	ao := awsops.DefaultOptions()
	ao.Region, ao.Endpoint = "us-east-1", c.hosts[0].ec2Srv.URL
	ao.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
	})
	ao.Wait = awsops.WaitOptions{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 1.5, StuckAttaching: 5 * time.Second, StuckDetaching: 5 * time.Second}
	cl, err := awsops.New(context.Background(), ao)
	require.NoError(c.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cl.AttachVolume(ctx, volume, instance, awsops.DeviceNames("/dev/sdg"))
	require.NoError(c.t, err, "stray attach of %s to %s", volume, instance)
}

// TestMutationsEndBeforeTheLease: a mutation's context ends before the
// session's lease could expire, so a deposed leader's call, retries
// included, is never sent after another instance could lead (item 10).
func TestMutationsEndBeforeTheLease(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	h := c.hosts[0]
	c.startHost(h, c.options(h))
	ttl := h.ctrl.o.SessionTTL
	sess, err := concurrency.NewSession(c.admin, concurrency.WithTTL(int(ttl/time.Second)))
	require.NoError(t, err)
	defer sess.Close()
	el := concurrency.NewElection(sess, c.prefix+"/test-election")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, el.Campaign(ctx, "test"))
	l := newLeader(h.ctrl, sess, el, cancel)

	var deadline time.Time
	began := time.Now()
	require.NoError(t, l.mutate(ctx, nil, func(mctx context.Context) error {
		d, ok := mctx.Deadline()
		require.True(t, ok, "a mutation runs under a deadline")
		deadline = d
		return nil
	}))
	require.LessOrEqual(t, deadline.Sub(began), ttl-leaseMargin(ttl), "got a deadline %s after the call, want at most the lease TTL %s less the margin", deadline.Sub(began), ttl)
	require.Positive(t, deadline.Sub(began))

	require.NoError(t, el.Resign(ctx))
	err = l.mutate(ctx, nil, func(context.Context) error { return nil })
	require.ErrorIs(t, err, errNotLeader, "a resigned term sends nothing")
}

// TestSwitchoverOwnerDiesMidMove: the owner of a switchover does not let go
// of the volume (the plain detach stays busy), then dies. The move must
// escalate to a failover (fence, then force-detach) instead of waiting on the
// plain detach forever (item 8).
func TestSwitchoverOwnerDiesMidMove(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	c.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultBusy, Action: "DetachVolume", Sticky: true})
	c.start()
	target := c.hosts[1]
	c.put(c.keys.VolumeSwitchover(testVolume), `{"to":"`+target.id+`","reason":"kernel upgrade"}`)
	c.waitPage(alert.KindStepOverdue, alert.ActionTrigger, 10*time.Second)
	rec := c.journal()
	require.NotNil(t, rec, "the switchover is in flight")
	require.Equal(t, state.KindSwitchover, rec.Kind)
	require.Equal(t, state.StepFenced, rec.Step, "the unit stopped, the plain detach stuck")

	c.kill(c.owner())
	done := c.waitDone(1, 20*time.Second)
	require.Equal(t, state.KindFailover, done.Kind, "the switchover became a failover")
	require.Contains(t, done.Reason, "switchover escalated")
	c.assertMovedTo(c.byID(done.To.Instance))
	require.GreaterOrEqual(t, c.ec2Calls("StopInstances"), 1, "the dead owner was fenced")
	resp, err := c.admin.Get(context.Background(), c.keys.VolumeSwitchover(testVolume))
	require.NoError(t, err)
	require.Empty(t, resp.Kvs, "the request it no longer fulfils is removed")
}

// TestCompletionPagedWhatEverTheHistoryHolds: a volume whose history holds
// far more records than the limit (an operator lowered --history-limit)
// still gets its completion page, and the history is trimmed to the limit.
// Before, the trim ran inside the finish, failed on etcd's transaction size
// limit and swallowed the page (item 9).
func TestCompletionPagedWhatEverTheHistoryHolds(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(_ *host, o *Options) { o.HistoryLimit = 5 }})
	old := state.Record{Kind: state.KindFailover, Volume: testVolume, Step: state.StepDone,
		From: state.Endpoint{Instance: "i-0000000000000aaaa", Machine: "m"}, To: state.Endpoint{Instance: "i-0000000000000bbbb", Machine: "m"}}
	for i := range 300 {
		old.ID = fmt.Sprintf("20200101T000000.000Z-%08x", i)
		c.put(c.keys.HistoryRecord(testVolume, old.ID), old.Encode())
	}
	c.start()
	c.kill(c.owner())
	ev := c.waitPage(alert.KindFailoverCompleted, alert.ActionResolve, 15*time.Second)
	require.Eventually(t, func() bool {
		h := c.history()
		return len(h) == 5 && h[4].ID == ev.FailoverID
	}, 10*time.Second, 50*time.Millisecond, "waiting for the history trimmed to its limit of 5, the new move last")
}

// TestSwitchoverWaitsForPostgresToExit: the old owner's Postgres takes its
// time to stop. fleet drops a stopped unit's /state within a second while the
// process runs on, so the plain detach must wait for the owner's agent to
// report the unit inactive, never for its state to vanish (issue 12, item 1).
func TestSwitchoverWaitsForPostgresToExit(t *testing.T) {
	const stop = 2 * time.Second
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	c.fleet.Executor().(*fleetsim.MemExecutor).SetStopDelay(testUnit, stop)
	c.start()
	target := c.hosts[1]
	c.put(c.keys.VolumeSwitchover(testVolume), `{"to":"`+target.id+`","reason":"kernel upgrade"}`)
	rec := c.waitDone(1, 20*time.Second)
	require.Equal(t, state.KindSwitchover, rec.Kind, "no escalation: the unit stopped within the fence deadline")
	c.assertMovedTo(target)

	var stopSent, detachSent time.Time
	for _, r := range c.fleet.Journal() {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/units/"+testUnit) && stopSent.IsZero() {
			stopSent = r.Time
		}
	}
	for _, call := range c.ec2.Journal() {
		if call.Action == "DetachVolume" && detachSent.IsZero() {
			detachSent = call.Time
		}
	}
	require.False(t, stopSent.IsZero(), "the unit was stopped through fleet")
	require.False(t, detachSent.IsZero(), "the volume was detached")
	require.GreaterOrEqual(t, detachSent.Sub(stopSent), stop,
		"got the detach %s after the stop, want it after Postgres exited (%s)", detachSent.Sub(stopSent), stop)
}

// TestSwitchoverEscalatesWithoutProof: when the owner cannot prove within the
// fence deadline that Postgres stopped, the switchover becomes a failover:
// the owner is fenced by a stop and the volume force-detached (issue 12, item 1).
func TestSwitchoverEscalatesWithoutProof(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(_ *host, o *Options) { o.Deadlines.Fence = time.Second }})
	c.fleet.Executor().(*fleetsim.MemExecutor).SetStopDelay(testUnit, time.Minute)
	c.start()
	target := c.hosts[1]
	c.put(c.keys.VolumeSwitchover(testVolume), `{"to":"`+target.id+`","reason":"kernel upgrade"}`)
	rec := c.waitDone(1, 20*time.Second)
	require.Equal(t, state.KindFailover, rec.Kind, "escalated")
	require.Contains(t, rec.Reason, "no proof within")
	require.GreaterOrEqual(t, c.ec2Calls("StopInstances"), 1, "the owner was fenced")
	for _, call := range c.ec2.Journal() {
		if call.Action == "DetachVolume" {
			require.Equal(t, "true", call.Params.Get("Force"), "no plain detach of a volume Postgres may still use")
		}
	}
}

// TestFailoverUnderDescribeLag: describes answer with the state of a while
// ago, as EC2's eventual consistency does, and a latency fault delays the
// answer of an attach that EC2 applies at once. Every step reads the world
// before acting, so the failover still completes with one attachment at a
// time and no call repeated needlessly (issue 12, item 11).
func TestFailoverUnderDescribeLag(t *testing.T) {
	lat := ec2sim.Latencies{DescribeLag: 500 * time.Millisecond}
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, latencies: &lat})
	c.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultLatency, Action: "AttachVolume", Latency: 300 * time.Millisecond})
	c.start()
	c.kill(c.owner())
	rec := c.waitDone(1, 30*time.Second)
	c.assertMovedTo(c.byID(rec.To.Instance))
	require.Equal(t, 1, c.ec2Calls("DetachVolume"), "one detach, though describes lagged behind it")
	require.LessOrEqual(t, c.ec2Calls("AttachVolume"), 2, "the delayed attach, applied at once, is recognised as ours")
}

// TestStuckAttachRetargets: every attach to the chosen target sticks in
// attaching. Past the attach deadline the stuck attachment is force-detached,
// paged, and the move goes to another host, instead of waiting forever
// (issue 11, item 5).
func TestStuckAttachRetargets(t *testing.T) {
	var c *cluster
	var stuck atomic.Value
	c = newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(h *host, o *Options) {
		o.Deadlines.Attach = time.Second
		o.afterStep = func(r *state.Record) {
			if r.Step == state.StepDetached && stuck.CompareAndSwap(nil, r.To.Instance) {
				c.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching, Action: "AttachVolume", Resource: r.To.Instance, Sticky: true})
			}
		}
	}})
	c.start()
	c.kill(c.owner())
	rec := c.waitDone(1, 30*time.Second)
	first, _ := stuck.Load().(string)
	require.NotEmpty(t, first, "the first target's attaches were made to stick")
	require.NotEqual(t, first, rec.To.Instance, "moved to another target")
	require.Contains(t, rec.PreviousTargets, first)
	c.assertMovedTo(c.byID(rec.To.Instance))
	triggered := false
	c.pager.mu.Lock()
	for _, ev := range c.pager.events {
		triggered = triggered || (strings.HasPrefix(ev.DedupKey, "attach_stuck/") && ev.Action == alert.ActionTrigger)
	}
	c.pager.mu.Unlock()
	require.True(t, triggered, "the stuck attach was paged")
	require.Eventually(t, func() bool { return len(c.pager.openIncidents("attach_stuck/")) == 0 }, 5*time.Second, 20*time.Millisecond,
		"waiting for the stuck-attach page to resolve once the move completed")
}

// TestFirstDeployFencesNothing follows the deploy guide's order: the agents
// start before Postgres, and the owner's own agent is not up yet either. The
// owner has never served, so it is not a dead owner: nothing is fenced and
// nothing moves, however long it stays so (issue 15 §2).
func TestFirstDeployFencesNothing(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	owner := c.owner()
	owner.pg.Close()
	for i, h := range c.hosts[:len(c.hosts)-1] {
		c.startHost(h, c.options(h))
		if i == 0 {
			require.Eventually(t, h.ctrl.IsLeader, 10*time.Second, 10*time.Millisecond, "waiting for %s to lead", h.id)
		}
	}
	c.waitVerdict(owner, "dead", 10*time.Second)
	c.never(func() bool { return c.ec2Calls("StopInstances") > 0 || c.journal() != nil }, 2*time.Second, "a volume never seen serving was moved")
	st := getStatus(t, c.leader())
	require.Len(t, st.Volumes, 1)
	require.True(t, st.Volumes[0].Unarmed, "status says the volume is unarmed")
	require.Equal(t, owner.id, c.ec2.VolumeAttachments(testVolume)[0].InstanceID, "the volume stayed on its owner")
}

// TestScheduledRetirementSwitchesOver: EC2 announces the owner's retirement
// within the lead time; the volume is paged and moved off that host by a
// planned switchover, before the event (issue 15 §7).
func TestScheduledRetirementSwitchesOver(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	c.start()
	owner := c.owner()
	require.NoError(t, c.ec2.ScheduleEvent(owner.id, ec2sim.ScheduledEvent{Code: "instance-retirement",
		Description: "The instance is running on degraded hardware", NotBefore: time.Now().Add(time.Hour)}))
	ev := c.waitPage(alert.KindScheduledEvent, alert.ActionTrigger, 10*time.Second)
	require.Contains(t, ev.Summary, "instance-retirement")
	rec := c.waitDone(1, 20*time.Second)
	require.Equal(t, state.KindSwitchover, rec.Kind)
	require.Contains(t, rec.Reason, "scheduled EC2 event instance-retirement")
	c.assertMovedTo(c.byID(rec.To.Instance))
	require.Zero(t, c.ec2Calls("StopInstances"), "a planned switchover stops no instance")
}
