//go:build e2e

package e2etest

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/health"
)

// Short faults of a healthy owner are not deaths. A 1 s and a 2 s cut of the
// owner from everyone (healed) and a 3 s stall of its Postgres (SIGSTOP, then
// SIGCONT, of the postmaster's process group) must cause no failover;
// Postgres answers on the owner afterwards with every acknowledged row. The
// two cuts share a world, one after the other with the quiet watch between
// them: a move after the first fails the test there, before the second. The
// stall gets a world of its own.
//
// Every probe fails during a cut, the leader's (every 250 ms) and the
// witnesses': only the minimum unreachable time (2.5 s) tells a 2 s cut from
// a death. The stall fails the Postgres probe only; the owner's agent still
// answers, and a live host with a stalled Postgres is not a dead one.
func TestShortFaultsCauseNoFailover(t *testing.T) {
	for _, tc := range []struct {
		name string
		// fault injects the fault, holds it while checking cond, and ends it.
		fault func(w *world, cond func() (bool, string))
	}{
		{"partitions 1s then 2s", func(w *world, cond func() (bool, string)) {
			w.blip(time.Second, cond)
			w.hold(quietAfter, "core1 left alone after the 1s cut", cond)
			w.blip(2*time.Second, cond)
		}},
		{"postgres stall 3s", func(w *world, cond func() (bool, string)) { w.stallPostgres("core1", 3*time.Second, cond) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			w.leaderOff("core1")
			owner := w.host("core1")
			t0 := time.Now()
			still := w.leftAlone(owner, t0)
			tc.fault(w, still)
			timings.add(t.Name(), "fault held", time.Since(t0))
			w.hold(quietAfter, "core1 left alone after the fault", still)
			served, _ := w.waitServed(15 * time.Second)
			require.Equal(t, "core1", served.Name)
			require.Empty(t, w.fenceCalls(t0, owner.InstanceID), "no fencing call may have been sent")
			w.settle(owner)
		})
	}
}

// blip cuts core1 off everyone for d, checking cond all along, then heals it.
// The leader's verdict is read all along too: dead fails at once, and the
// cut must have made core1 suspect, or it never reached the probes and the
// scenario proved nothing.
func (w *world) blip(d time.Duration, cond func() (bool, string)) {
	w.t.Helper()
	leader := w.host(w.hostOf(w.leader()))
	vl := &verdictLog{seen: map[health.Verdict]int{}}
	w.partition("core1")
	w.hold(d, fmt.Sprintf("core1 left alone during a %s cut", d), func() (bool, string) {
		if ok, why := cond(); !ok {
			return false, why
		}
		return vl.poll(w, leader)
	})
	w.heal("core1")
	require.NotZero(w.t, vl.seen[health.VerdictSuspect], "leader %s never judged core1 suspect during the %s cut: did it reach the probes? verdicts %v (%d status reads failed)",
		leader.Name, d, vl.seen, vl.errs)
}

// stallPostgres stops a host's Postgres (SIGSTOP to the postmaster's process
// group: the postmaster and every backend) for d, checking cond all along,
// then lets it go on (SIGCONT).
func (w *world) stallPostgres(name string, d time.Duration, cond func() (bool, string)) {
	w.t.Helper()
	pid := w.unitPID(name, sandbox.PostgresUnit(w.sb.Volume()))
	require.NotZero(w.t, pid, "no running Postgres on %s", name)
	require.NoError(w.t, syscall.Kill(-pid, syscall.SIGSTOP), "SIGSTOP to %s's postmaster group %d", name, pid)
	w.mon.Note("test sent SIGSTOP to %s's Postgres (pgid %d)", name, pid)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			require.NoError(w.t, syscall.Kill(-pid, syscall.SIGCONT), "SIGCONT to %s's postmaster group %d", name, pid)
			w.mon.Note("test sent SIGCONT to %s's Postgres", name)
		}
	}
	w.t.Cleanup(resume) // a failed hold must not leave Postgres stopped
	w.hold(d, fmt.Sprintf("%s left alone while its Postgres is stopped", name), cond)
	resume()
}
