//go:build e2e

package e2etest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/sandbox"
)

// TestEtcdMemberFaults fails the volume over three times, each under a fault
// of the etcd cluster: the etcd leader member SIGKILLed together with the
// owner, a member's WAL fsync stalled (the etcd leader's) with etcd's
// leadership moved mid-failover, and the etcd leader partitioned from its
// peers and clients. Leader election, journal fencing and the outbox must
// stay safe (the history checks and the monitor judge the whole run), and
// the volume must be served again each time.
func TestEtcdMemberFaults(t *testing.T) {
	w := newWorld(t, worldOptions{cooldown: time.Second})

	// 1. The etcd leader member and the owner die at once.
	victim := w.etcdLeader()
	w.leaderOff("core1")
	w.etcdKill(victim)
	t0 := w.kill("core1", false)
	owner, answered := w.waitServed(failoverDeadline+sessionTTL, "core1")
	timings.add(t.Name(), "etcd leader and owner killed to postgres answering", answered.Sub(t0))
	w.etcdRestart(victim)
	w.reviveAndSettle("core1")
	w.settle(owner)

	// 2. The etcd leader's fsyncs stall while the owner dies, and etcd's
	// leadership moves while the failover runs.
	slow := w.etcdLeader()
	w.etcdStall(slow, 500*time.Millisecond)
	w.leaderOff(owner.Name)
	t0 = w.kill(owner.Name, false)
	w.waitFor(failoverDeadline, "a failover in progress", func() (bool, string) { return w.journal() != nil, "none" })
	w.etcdMoveLeader()
	prev := owner
	owner, answered = w.waitServed(failoverDeadline+sessionTTL, prev.Name)
	timings.add(t.Name(), "owner killed under an fsync stall to postgres answering", answered.Sub(t0))
	w.etcdUnstall(slow)
	w.reviveAndSettle(prev.Name)
	w.settle(owner)

	// 3. The etcd leader is cut off its peers and every client, and the
	// owner dies meanwhile.
	cut := w.etcdLeader()
	w.etcdPartition(cut)
	w.leaderOff(owner.Name)
	t0 = w.kill(owner.Name, false)
	prev = owner
	owner, answered = w.waitServed(failoverDeadline+sessionTTL, prev.Name)
	timings.add(t.Name(), "owner killed with the etcd leader partitioned to postgres answering", answered.Sub(t0))
	w.etcdHeal(cut)
	w.reviveAndSettle(prev.Name)
	w.settle(owner)
}

// etcdLeader is the member that leads the etcd cluster now.
func (w *world) etcdLeader() string {
	w.t.Helper()
	var name string
	w.waitFor(10*time.Second, "an etcd leader", func() (bool, string) {
		l, err := w.sb.EtcdLeader(w.ctx)
		name = l
		return err == nil, fmt.Sprint(err)
	})
	return name
}

func (w *world) etcdKill(member string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.KillEtcdMember(w.ctx, member), "SIGKILL etcd member %s", member)
	w.mon.Note("test SIGKILLed etcd member %s", member)
}

func (w *world) etcdRestart(member string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.RestartEtcdMember(w.ctx, member), "restart etcd member %s", member)
	w.mon.Note("test restarted etcd member %s", member)
}

// etcdStall delays a member's WAL fsyncs; it skips the test where the
// sandbox has no FUSE mount to delay them on.
func (w *world) etcdStall(member string, d time.Duration) {
	w.t.Helper()
	err := w.sb.StallEtcdMember(w.ctx, member, d)
	if errors.Is(err, sandbox.ErrStallUnsupported) {
		w.t.Skipf("fsync stall needs root and /dev/fuse: %v", err)
	}
	require.NoError(w.t, err, "stall etcd member %s", member)
	w.mon.Note("test stalled etcd member %s's fsync by %s", member, d)
}

func (w *world) etcdUnstall(member string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.UnstallEtcdMember(w.ctx, member), "unstall etcd member %s", member)
	w.mon.Note("test ended etcd member %s's fsync stall", member)
}

// etcdMoveLeader hands etcd's leadership to another running member. A
// transfer times out when the target lags behind on a loaded machine; it is
// tried three times.
func (w *world) etcdMoveLeader() (from, to string) {
	w.t.Helper()
	var err error
	for range 3 {
		from = w.etcdLeader()
		for _, m := range w.sb.EtcdMembers() {
			if m.Name != from {
				to = m.Name
				break
			}
		}
		if _, err = w.sb.MoveEtcdLeader(w.ctx, to); err == nil {
			w.mon.Note("test moved etcd leadership from %s to %s", from, to)
			return from, to
		}
	}
	require.NoError(w.t, err, "move etcd leadership from %s to %s, tried three times", from, to)
	return from, to
}

// etcdPartition cuts a member off; it skips the test where the sandbox
// cannot install firewall rules.
func (w *world) etcdPartition(member string) {
	w.t.Helper()
	err := w.sb.PartitionEtcdMember(w.ctx, member)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		w.t.Skipf("member partition needs root and iptables: %v", err)
	}
	require.NoError(w.t, err, "partition etcd member %s", member)
	w.mon.Note("test partitioned etcd member %s", member)
}

func (w *world) etcdHeal(member string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.HealEtcdMember(w.ctx, member), "heal etcd member %s", member)
	w.mon.Note("test healed etcd member %s", member)
	require.NoError(w.t, w.sb.WaitEtcdHealthy(w.ctx), "every etcd member healthy after healing %s", member)
}
