//go:build e2e

package e2etest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/state"
)

const pausedLogLine = "owner is dead but the volume is paused"

// nothingMoves is the hold condition of a held volume: no move in progress or
// completed since t0 and no controller mutation.
func (w *world) nothingMoves(t0 time.Time) func() (bool, string) {
	return func() (bool, string) {
		if r := w.journal(); r != nil {
			return false, fmt.Sprintf("move %s at step %s", r.ID, r.Step)
		}
		if h := w.history(t0); len(h) > 0 {
			return false, "move " + h[0].ID + " completed"
		}
		if m := w.controllerMutations(t0); len(m) > 0 {
			return false, fmt.Sprintf("mutations %v", m)
		}
		return true, ""
	}
}

// reviveAndSettle boots a dead host and waits until its controller is
// registered and healthy again.
func (w *world) reviveAndSettle(name string) {
	w.t.Helper()
	w.revive(name)
	h := w.host(name)
	w.waitFor(20*time.Second, name+"'s controller registered again", func() (bool, string) {
		n := w.count(w.keys.Host(h.InstanceID))
		return n == 1, fmt.Sprintf("%d registrations", n)
	})
	require.NoError(w.t, w.sb.WaitControllers(w.ctx), "controllers healthy after reviving %s", name)
}

// Scenario 9: global and per-volume pause written as etcdctl would (raw puts
// of the documented JSON), before a crash and in the middle of a failover.
func TestPause(t *testing.T) {
	w := newWorld(t, worldOptions{cooldown: 2 * time.Second})
	vol := w.sb.Volume()

	// Global pause, then the owner dies: the leader sees it dead and does nothing.
	w.leaderOff("core1")
	w.put(w.keys.Pause(), `{"reason":"e2e: etcd maintenance, ticket OPS-1234"}`)
	t0 := w.kill("core1", false)
	w.waitFor(20*time.Second, "the leader logging that the dead owner is paused", func() (bool, string) {
		n := strings.Count(w.controllerLog(), pausedLogLine)
		return n >= 1, fmt.Sprintf("%d lines", n)
	})
	timings.add(t.Name(), "kill to dead-but-paused", time.Since(t0))
	w.hold(2*time.Second, "nothing moves under the global pause", w.nothingMoves(t0))
	resumed := time.Now()
	w.del(w.keys.Pause())
	owner, answered := w.waitServed(failoverDeadline, "core1")
	timings.add(t.Name(), "global resume to postgres answering", answered.Sub(resumed))
	w.settle(owner)

	// Per-volume pause, then the new owner dies.
	w.reviveAndSettle("core1")
	w.leaderOff(owner.Name)
	w.put(w.keys.VolumePause(vol), `{"reason":"e2e: restoring from snapshot"}`)
	t1 := w.kill(owner.Name, false)
	w.waitFor(20*time.Second, "the leader logging that the dead owner is paused", func() (bool, string) {
		n := strings.Count(w.controllerLog(), pausedLogLine)
		return n >= 2, fmt.Sprintf("%d lines", n)
	})
	w.hold(2*time.Second, "nothing moves under the volume pause", w.nothingMoves(t1))
	resumed = time.Now()
	w.del(w.keys.VolumePause(vol))
	owner2, answered := w.waitServed(failoverDeadline, owner.Name)
	timings.add(t.Name(), "volume resume to postgres answering", answered.Sub(resumed))
	w.settle(owner2)

	// A pause written mid-failover holds it at its next step.
	w.reviveAndSettle(owner.Name)
	w.leaderOff(owner2.Name)
	w.sb.EC2().Arm(ec2sim.Fault{Kind: ec2sim.FaultLatency, Action: "DetachVolume", Latency: 1500 * time.Millisecond})
	t2 := w.kill(owner2.Name, false)
	w.waitFor(failoverDeadline, "the failover fenced", func() (bool, string) {
		r := w.journal()
		return r != nil && r.Step == state.StepFenced, "not yet"
	})
	w.put(w.keys.VolumePause(vol), `{"reason":"e2e: hold it"}`)
	w.waitFor(10*time.Second, "the in-flight detach step done", func() (bool, string) {
		r := w.journal()
		return r != nil && r.Step == state.StepDetached, "not yet"
	})
	w.hold(2*time.Second, "the move held after the detach", func() (bool, string) {
		r := w.journal()
		return r != nil && r.Step == state.StepDetached, "moved on"
	})
	resumed = time.Now()
	w.del(w.keys.VolumePause(vol))
	owner3, answered := w.waitServed(failoverDeadline, owner2.Name)
	timings.add(t.Name(), "mid-failover resume to postgres", answered.Sub(resumed))
	rec := w.lastMove(t2)
	require.Equal(t, state.StepDone, rec.Step)
	w.settle(owner3)
}

// Scenario 10: a planned switchover moves the volume gracefully with no
// acknowledged row lost: no instance stopped, no forced detach.
func TestSwitchover(t *testing.T) {
	w := newWorld(t, worldOptions{})
	vol := w.sb.Volume()
	target := w.host("core3")
	t0 := time.Now()
	w.put(w.keys.VolumeSwitchover(vol), fmt.Sprintf(`{"to":%q,"reason":"e2e: kernel upgrade on core1"}`, target.InstanceID))
	owner, answered := w.waitServed(failoverDeadline, "core1")
	timings.add(t.Name(), "request to postgres answering", answered.Sub(t0))
	require.Equal(t, "core3", owner.Name, "got new owner %s want the requested core3", owner.Name)
	rec := w.lastMove(t0)
	require.Equal(t, state.KindSwitchover, rec.Kind)
	require.Zero(t, w.count(w.keys.VolumeSwitchover(vol)), "the switchover key must be removed when done")
	for _, c := range w.ec2Since(t0) {
		require.NotEqual(t, "StopInstances", c.Action, "a switchover stops no instance")
		if c.Action == "DetachVolume" {
			require.NotEqual(t, "true", c.Params.Get("Force"), "a switchover detaches plainly")
		}
	}
	require.Equal(t, "running", w.sb.EC2().InstanceState(w.host("core1").InstanceID), "the old owner keeps running")
	require.NotZero(t, w.unitPID("core1", volfailoverUnit), "the old owner's controller keeps running")
	if gaps := w.wr.Gaps(); len(gaps) > 0 {
		g := gaps[len(gaps)-1]
		timings.add(t.Name(), "writer without an acknowledged commit", g.To.Sub(g.From))
	}
	w.settle(owner)
}

// Scenario 11: a flapping owner gets at most one automatic failover per
// cooldown: the second death inside the cooldown is paged as flap_damped and
// acted on only once the cooldown has passed.
func TestFlappingOwner(t *testing.T) {
	const cooldown = 10 * time.Second
	w := newWorld(t, worldOptions{cooldown: cooldown})
	w.leaderOff("core1")
	t0 := w.kill("core1", false)
	owner1, _ := w.waitServed(failoverDeadline, "core1")
	first := w.lastMove(t0)
	w.settle(owner1)

	w.reviveAndSettle("core1")
	w.leaderOff(owner1.Name)
	t1 := w.kill(owner1.Name, false)
	w.waitFor(20*time.Second, "a flap_damped page for the second death", func() (bool, string) {
		return len(w.hook.find(alert.KindFlapDamped)) > 0, fmt.Sprintf("pages %v", w.hook.kinds())
	})
	t.Logf("page: %s", w.hook.find(alert.KindFlapDamped)[0].Summary)
	if left := time.Until(first.Created.Add(cooldown)) - 300*time.Millisecond; left > 0 {
		w.hold(left, "no second automatic failover inside the cooldown", w.nothingMoves(t1))
	}
	owner2, answered := w.waitServed(cooldown+failoverDeadline, owner1.Name)
	second := w.lastMove(t1)
	require.GreaterOrEqual(t, second.Created.Sub(first.Created), cooldown, "second failover %s after the first, cooldown %s", second.Created.Sub(first.Created), cooldown)
	timings.add(t.Name(), "second kill to postgres (cooldown held)", answered.Sub(t1))
	w.settle(owner2)
}
