package controller

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/state"
)

// killTarget makes the record's target dead in the emulators from inside a
// step hook: EC2 says stopped and its fleet machine stops heartbeating. Its
// agent keeps running, so only the EC2 signal tells the leader.
func (c *cluster) killTarget(id string) {
	for _, h := range c.hosts {
		if h.id == id {
			_ = c.ec2.SetInstanceState(id, "stopped")
			_ = c.fleet.KillMachine(h.machine)
		}
	}
}

// TestTargetLostBeforeAttachRetargets: the target dies after the detach and
// before the attach; the leader picks a new target, journals the change, and
// finishes there without ever attaching to the dead one.
func TestTargetLostBeforeAttachRetargets(t *testing.T) {
	var c *cluster
	var lost atomic.Value
	c = newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(h *host, o *Options) {
		o.NoFailover = h.n == 1 // the first leader is never the target
		o.afterStep = func(r *state.Record) {
			if r.Step == state.StepDetached && lost.CompareAndSwap(nil, r.To.Instance) {
				c.killTarget(r.To.Instance)
			}
		}
	}})
	c.start()
	c.kill(c.owner())
	rec := c.waitDone(1, 15*time.Second)
	dead, _ := lost.Load().(string)
	require.NotEmpty(t, dead, "the target was killed after the detach")
	require.NotEqual(t, dead, rec.To.Instance, "moved to a new target")
	require.Equal(t, []string{dead}, rec.PreviousTargets, "the lost target is journaled")
	require.Empty(t, rec.Abandoned)
	var note string
	for _, s := range rec.Timeline {
		if s.Step == state.StepAttached {
			note = s.Note
		}
	}
	require.Contains(t, note, dead, "the attach step's timeline says why the target changed")
	require.Contains(t, note, "new target "+rec.To.Instance)
	c.assertMovedTo(c.byID(rec.To.Instance))
	require.Equal(t, 1, c.ec2Calls("AttachVolume"), "never attached to the dead target")
}

// TestTargetLostAfterAttachAbandons: the target dies with the volume attached
// to it; the record goes to the history as abandoned, and the next round
// fails the volume over afresh from the dead target, without a cooldown.
func TestTargetLostAfterAttachAbandons(t *testing.T) {
	var c *cluster
	var lost atomic.Value
	c = newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(h *host, o *Options) {
		o.NoFailover = h.n == 1
		o.afterStep = func(r *state.Record) {
			if r.Step == state.StepAttached && lost.CompareAndSwap(nil, r.To.Instance) {
				c.killTarget(r.To.Instance)
			}
		}
	}})
	c.start()
	owner := c.owner()
	c.kill(owner)
	second := c.waitDone(2, 20*time.Second)
	dead, _ := lost.Load().(string)
	hist := c.history()
	require.Len(t, hist, 2, "the abandoned move and the fresh failover")
	first := hist[0]
	require.Equal(t, dead, first.To.Instance)
	require.Equal(t, state.StepAttached, first.Step, "abandoned after the attach")
	require.Contains(t, first.Abandoned, dead)
	require.False(t, first.Finished.IsZero())
	require.Equal(t, state.KindFailover, second.Kind)
	require.Equal(t, dead, second.From.Instance, "the fresh failover starts from the dead target")
	require.NotEqual(t, dead, second.To.Instance)
	require.NotEqual(t, owner.id, second.To.Instance)
	c.assertMovedTo(c.byID(second.To.Instance))
	require.False(t, c.pager.has(alert.KindFlapDamped), "an abandoned move does not count toward the cooldown")
	require.Empty(t, c.pager.openIncidents("failover/"), "every failover incident is resolved, the abandoned one too")

	l := c.leader()
	require.NotNil(t, l)
	v, ok := sample(scrape(t, l), "volfailover_failovers_total", map[string]string{"result": ResultAbandoned, "kind": string(state.KindFailover)})
	require.True(t, ok && v == 1, "failovers_total{result=abandoned}: got %v", v)
}

// TestResumedFailoverRestartsFenceConfirmation crashes the leader right after
// the forced stop; the owner takes long to stop. The background confirmation
// died with that leader, so the next one must restart it and page
// fence_unconfirmed itself.
func TestResumedFailoverRestartsFenceConfirmation(t *testing.T) {
	var crashed atomic.Value
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, latencies: &ec2sim.Latencies{StopMin: 6 * time.Second, StopMax: 6 * time.Second, HardStopMin: 6 * time.Second, HardStopMax: 6 * time.Second},
		mutate: func(h *host, o *Options) {
			o.Deadlines.FenceConfirm = 300 * time.Millisecond
			if h.n != 1 {
				return
			}
			o.Deadlines.FenceConfirm = time.Minute // the first leader would not page in time
			o.afterStep = func(r *state.Record) {
				if r.Step == state.StepFenced && crashed.CompareAndSwap(nil, h.id) {
					h.cli.Close()
				}
			}
		}})
	c.start()
	owner := c.owner()
	c.kill(owner)
	rec := c.waitDone(1, 15*time.Second)
	first, _ := crashed.Load().(string)
	require.Equal(t, c.hosts[0].id, first, "the first leader crashed after the fence")
	ev := c.waitPage(alert.KindFenceUnconfirmed, alert.ActionTrigger, 5*time.Second)
	require.NotEqual(t, "volfailover/"+first, ev.Source, "paged by the leader that resumed")
	require.True(t, strings.HasPrefix(ev.Source, "volfailover/i-"), "source %q", ev.Source)
	require.Equal(t, rec.ID, ev.FailoverID)
	require.Equal(t, owner.id, ev.Instance)
	require.Equal(t, 1, c.ec2Calls("StopInstances"), "the stop is not issued again")
}
