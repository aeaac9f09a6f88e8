//go:build e2e

package e2etest

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/state"
)

// Scenarios 1-3: the owner host crashes; the volume moves to a peer of its AZ.
func TestOwnerCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		// stopped: EC2 reports the dead owner stopped (else running but dead).
		stopped bool
		// leaderOnOwner puts the leader on the owner's host before the crash.
		leaderOnOwner bool
	}{
		{name: "1_running_but_dead"},
		{name: "2_instance_stopped", stopped: true},
		{name: "3_leader_on_owner_host", leaderOnOwner: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			if tc.leaderOnOwner {
				w.leaderOn("core1")
			} else {
				w.leaderOff("core1")
			}
			leader := w.hostOf(w.leader())
			t0 := w.kill("core1", tc.stopped)
			owner, answered := w.waitServed(failoverDeadline, "core1")
			rec := w.lastMove(t0)
			timings.add(t.Name(), "kill to postgres answering", answered.Sub(t0))
			timings.add(t.Name(), "kill to failover planned", rec.Created.Sub(t0))
			t.Logf("leader %s; %s -> %s, planned after %s, answered after %s", leader, w.hostOf(rec.From.Instance), owner.Name,
				rec.Created.Sub(t0).Round(time.Millisecond), answered.Sub(t0).Round(time.Millisecond))

			require.Equal(t, state.KindFailover, rec.Kind, "got move kind %s want failover", rec.Kind)
			require.Equal(t, w.host("core1").InstanceID, rec.From.Instance, "got from %s want core1", w.hostOf(rec.From.Instance))
			require.Equal(t, owner.InstanceID, rec.To.Instance, "journal names %s, EC2 has %s", w.hostOf(rec.To.Instance), owner.Name)
			require.Equal(t, w.host("core1").AZ, owner.AZ, "got new owner in %s want the volume's zone", owner.AZ)
			require.Equal(t, state.StepDone, rec.Step, "got final step %s", rec.Step)
			if tc.leaderOnOwner {
				require.NotEqual(t, w.host("core1").InstanceID, rec.Timeline[0].Leader, "the dead leader cannot have planned the failover")
			}
			// The fence: the dead owner's instance is stopped (or was already).
			require.Equal(t, "stopped", w.sb.EC2().InstanceState(w.host("core1").InstanceID), "the old owner must be fenced")
			stops := 0
			for _, c := range w.ec2Since(t0) {
				if c.Action == "StopInstances" && c.Mutating() && c.Status == 200 {
					stops++
				}
			}
			if tc.stopped {
				require.Zero(t, stops, "an instance already stopped needs no StopInstances")
			} else {
				require.Equal(t, 1, stops, "got %d successful StopInstances want 1", stops)
			}
			w.settle(owner)
		})
	}
}

// Scenario 12: the old owner comes back after the failover: its fleet machine
// no longer carries the volume's metadata and no second Postgres starts.
func TestOldOwnerReturns(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.leaderOff("core1")
	t0 := w.kill("core1", false)
	owner, answered := w.waitServed(failoverDeadline, "core1")
	timings.add(t.Name(), "kill to postgres answering", answered.Sub(t0))
	w.settle(owner)

	w.revive("core1")
	core1 := w.host("core1")
	w.waitFor(20*time.Second, "core1's controller registered again and its machine back in fleet", func() (bool, string) {
		n := w.count(w.keys.Host(core1.InstanceID))
		ms, err := w.fleet.Machines(w.ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.ID == core1.MachineID {
				return n == 1, fmt.Sprintf("registered %d, machine metadata %v", n, m.Metadata)
			}
		}
		return false, fmt.Sprintf("registered %d, machine not listed", n)
	})
	// Three fleet agent rounds and six reconcile rounds on the revived host:
	// a stale postgres= metadata value would have started Postgres by now.
	w.hold(3*time.Second, "core1 carries no postgres metadata and runs no Postgres", func() (bool, string) {
		ms, err := w.fleet.Machines(w.ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if v, ok := m.Metadata["postgres"]; ok && m.ID != owner.MachineID {
				return false, fmt.Sprintf("machine %s (%s) still carries postgres=%s", m.ID, w.hostOf(w.instanceOfMachine(m.ID)), v)
			}
		}
		if pid := w.unitPID("core1", "postgres@"+w.sb.Volume()+".service"); pid != 0 {
			return false, fmt.Sprintf("postgres runs on core1 (pid %d)", pid)
		}
		return true, ""
	})
	w.settle(owner)
	// A controller crash on the revived host changes nothing either.
	w.signalController("core1", syscall.SIGKILL)
	w.hold(2*time.Second, "the volume stays on "+owner.Name, func() (bool, string) {
		h, ok := w.sb.Owner(w.sb.Volume())
		return ok && h.Name == owner.Name, fmt.Sprintf("owner %s", h.Name)
	})
	w.settle(owner)
}

func (w *world) instanceOfMachine(machine string) string {
	for _, h := range w.sb.Hosts() {
		if h.MachineID == machine {
			return h.InstanceID
		}
	}
	return machine
}

// Scenario 12, continued: the revived old owner is an eligible target again.
// A switchover back to it must complete under the same leader.
func TestRevivedOwnerIsTargetAgain(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.leaderOff("core1")
	leader := w.leader()
	w.kill("core1", false)
	owner, _ := w.waitServed(failoverDeadline, "core1")
	w.settle(owner)
	w.reviveAndSettle("core1")
	require.Equal(t, leader, w.leader(), "the leader must not change for this check")

	t1 := time.Now()
	w.put(w.keys.VolumeSwitchover(w.sb.Volume()), fmt.Sprintf(`{"to":%q,"reason":"e2e: move back to the repaired core1"}`, w.host("core1").InstanceID))
	back, answered := w.waitServed(failoverDeadline, owner.Name)
	require.Equal(t, "core1", back.Name, "got owner %s want core1", back.Name)
	require.Equal(t, state.KindSwitchover, w.lastMove(t1).Kind)
	require.Empty(t, w.hook.find(alert.KindNoTarget), "the revived core1 must be eligible, got no_target pages")
	timings.add(t.Name(), "switchover back to the revived host", answered.Sub(t1))
	w.settle(back)
}
