package controller

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/state"
)

// termOn builds a leadership term of h's controller on its own election, as
// lead does, without running the controller.
func termOn(t *testing.T, c *cluster, h *host) *leader {
	t.Helper()
	sess, err := concurrency.NewSession(h.cli, concurrency.WithTTL(int(h.ctrl.o.SessionTTL/time.Second)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	el := concurrency.NewElection(sess, c.keys.Election())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, el.Campaign(ctx, h.id))
	return newLeader(h.ctrl, sess, el, func() {})
}

// TestStepOverdueOnAFakeClock drives one step of a move on a fake clock: the
// detach keeps failing (EC2 5xx); nothing is paged until the clock passes
// the step's deadline, then step_overdue is paged once, and the step goes on
// retrying. No wall-clock margin decides the outcome.
func TestStepOverdueOnAFakeClock(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	h := c.hosts[0]
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	o := c.options(h)
	o.Clock = clk
	o.Deadlines.Detach = time.Minute
	o.RetryInitial, o.RetryMax = 10*time.Second, 10*time.Second
	c.buildHost(h, o)
	t.Cleanup(func() { h.cli.Close() })
	l := termOn(t, c, h)

	owner := c.owner()
	rec := state.Record{Kind: state.KindFailover, Volume: testVolume, AZ: owner.az, Device: "/dev/xvdb",
		From: state.Endpoint{Instance: owner.id, Machine: owner.machine}, To: state.Endpoint{Instance: h.id, Machine: h.machine, PrivateIP: h.ip},
		Step: state.StepFenced, Fence: state.FenceStopThenDetach, Created: clk.Now(), Updated: clk.Now(), ID: state.NewFailoverID(clk.Now())}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, l.j.create(ctx, &rec))
	c.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultInternalError, Action: "DetachVolume", Sticky: true})

	w := &worker{l: l, r: &rec, log: l.log}
	done := make(chan error, 1)
	go func() {
		_, err := w.step(ctx, state.StepDetached, moveSteps[state.KindFailover][state.StepDetached])
		done <- err
	}()
	waitRetrying := func(what string) {
		require.Eventually(t, clk.HasWaiters, 10*time.Second, 5*time.Millisecond, "waiting for the step to back off after %s", what)
	}
	for i := range 5 { // 50 s of failed attempts: within the 1 min deadline
		waitRetrying("a failed detach")
		require.Zero(t, c.pager.count(alert.KindStepOverdue, alert.ActionTrigger), "paged before the deadline, at attempt %d", i+1)
		clk.Step(10 * time.Second)
	}
	for range 2 { // past the deadline: paged once
		waitRetrying("a failed detach")
		clk.Step(10 * time.Second)
	}
	waitRetrying("the overdue attempt")
	require.Equal(t, 1, c.pager.count(alert.KindStepOverdue, alert.ActionTrigger), "step_overdue paged once past the deadline")
	ev := c.waitPage(alert.KindStepOverdue, alert.ActionTrigger, time.Second)
	require.Equal(t, "step_overdue/"+rec.ID+"/"+string(state.StepDetached), ev.DedupKey)
	require.True(t, rec.Timeline[len(rec.Timeline)-1].Overdue, "the step is marked overdue in the record")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// An attempt cut off by its bound goes again after the shortest pause;
// other failures back off, doubling up to RetryMax.
func TestNextBackoff(t *testing.T) {
	o := DefaultOptions()
	bounded := fmt.Errorf("attach vol-1: wait for vol-1 attached (last seen: attachment attaching): %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name    string
		err     error
		backoff time.Duration
		want    time.Duration
	}{
		{"refused: doubled", errors.New("incorrect state"), time.Second, 2 * time.Second},
		{"refused: capped", errors.New("incorrect state"), o.RetryMax, o.RetryMax},
		{"cut off by its bound: shortest pause", bounded, 8 * time.Second, o.RetryInitial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, nextBackoff(tc.err, tc.backoff, o))
		})
	}
}
