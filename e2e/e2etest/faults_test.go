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
)

// Scenario 5: the owner is alive but unreachable. It must be fenced (its
// instance stopped) before the volume is detached, and afterwards Postgres
// runs on exactly one host, also once the partition heals.
func TestOwnerPartitioned(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.leaderOff("core1")
	core1 := w.host("core1")
	t0 := w.partition("core1")
	owner, answered := w.waitServed(failoverDeadline+sessionTTL, "core1")
	rec := w.lastMove(t0)
	timings.add(t.Name(), "partition to postgres answering", answered.Sub(t0))
	timings.add(t.Name(), "partition to failover planned", rec.Created.Sub(t0))

	var stopAt, detachAt time.Time
	for _, c := range w.ec2Since(t0) {
		if !c.Mutating() || c.Status != 200 || c.Params.Get("InstanceId.1")+c.Params.Get("InstanceId") != core1.InstanceID {
			continue
		}
		switch {
		case c.Action == "StopInstances" && stopAt.IsZero():
			stopAt = c.Time
		case c.Action == "DetachVolume" && detachAt.IsZero():
			detachAt = c.Time
		}
	}
	require.False(t, stopAt.IsZero(), "the partitioned owner was never stopped")
	require.False(t, detachAt.IsZero(), "the volume was never detached from the partitioned owner")
	require.True(t, stopAt.Before(detachAt), "fence at %s must precede the detach at %s", stopAt.Format("15:04:05.000"), detachAt.Format("15:04:05.000"))
	fenced := false
	for _, e := range w.sb.Events() {
		fenced = fenced || (e.Host == "core1" && strings.Contains(e.What, "fenced") && !e.Time.After(detachAt.Add(100*time.Millisecond)))
	}
	require.True(t, fenced, "the sandbox must have killed core1's processes (physical fence) by the detach; events %v", w.sb.Events())
	w.settle(owner)

	// Healing the network does not bring the fenced host's Postgres back.
	w.heal("core1")
	w.hold(3*time.Second, "Postgres on "+owner.Name+" only after the heal", func() (bool, string) {
		pg := w.sb.PostgresHosts(w.sb.Volume())
		return len(pg) == 1 && pg[0].Name == owner.Name, fmt.Sprintf("postgres on %v", pg)
	})
	w.settle(owner)
}

// Scenario 6: EC2 throttling and 5xx storms during detection and failover,
// and an attach that is applied but answered with an error.
func TestEC2Storms(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.leaderOff("core1")
	ec2 := w.sb.EC2()
	ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultApplyThenFail, Action: "AttachVolume"})
	t0 := w.kill("core1", false)

	// Storm 1: every call throttled for 2s, while the owner is being judged.
	throttle := ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Sticky: true})
	w.mon.Note("test: throttle storm")
	w.hold(2*time.Second, "no move planned while every EC2 read is throttled", func() (bool, string) {
		r := w.journal()
		return r == nil, "a move was planned"
	})
	ec2.Disarm(throttle)
	// Storm 2: 5xx on the failover's own calls. Armed before the move is
	// planned, on the two actions its first steps send, so it cannot arm
	// after an instant-profile failover already finished; one fault per
	// action, so neither code shadows the other.
	stopStorm := ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultInternalError, Action: "StopInstances", Sticky: true})
	detachStorm := ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnavailable, Action: "DetachVolume", Sticky: true})
	w.mon.Note("test: 5xx storm")
	w.waitFor(failoverDeadline, "the fence's StopInstances answered InternalError", func() (bool, string) {
		return w.ec2Code(t0, "StopInstances", "InternalError") > 0, "not yet"
	})
	ec2.Disarm(stopStorm)
	w.waitFor(failoverDeadline, "the forced DetachVolume answered Unavailable", func() (bool, string) {
		return w.ec2Code(t0, "DetachVolume", "Unavailable") > 0, "not yet"
	})
	ec2.Disarm(detachStorm)
	owner, answered := w.waitServed(failoverDeadline, "core1")
	timings.add(t.Name(), "kill to postgres answering", answered.Sub(t0))

	codes := map[string]int{}
	attachApplied := 0
	for _, c := range w.ec2Since(t0) {
		if c.Code != "" {
			codes[c.Action+":"+c.Code]++
		}
		if c.Action == "AttachVolume" && (c.Status == 200 || c.Code == "Unavailable") {
			attachApplied++
		}
	}
	t.Logf("EC2 errors since the kill: %v", codes)
	throttled, fiveXX := 0, 0
	for k, n := range codes {
		switch {
		case strings.HasSuffix(k, ":RequestLimitExceeded"):
			throttled += n
		case strings.HasSuffix(k, ":InternalError"), strings.HasSuffix(k, ":Unavailable"):
			fiveXX += n
		}
	}
	require.Positive(t, throttled, "the throttle storm must have hit the controllers")
	require.Positive(t, fiveXX, "the 5xx storm must have hit the controllers")
	require.Positive(t, codes["StopInstances:InternalError"], "the InternalError storm must have fired")
	require.Positive(t, codes["DetachVolume:Unavailable"], "the Unavailable storm must have fired")
	require.Positive(t, codes["AttachVolume:Unavailable"], "the apply-then-fail attach must have fired")
	rec := w.lastMove(t0)
	for _, st := range rec.Timeline {
		t.Logf("step %-15s attempts %d skipped %q error %q", st.Step, st.Attempts, st.Skipped, st.Error)
	}
	w.settle(owner)
}

// stuckForceInterval is the controller's --stuck-detaching for this scenario: a
// force detach still "detaching" after this long is forced again (the default,
// 60 s, suits real EC2; the scenario would take a minute on it).
const stuckForceInterval = 3 * time.Second

// Scenario 7: the force detach of the dead owner's volume sticks in
// "detaching"; the controller must force it through.
func TestStuckDetaching(t *testing.T) {
	w := newWorld(t, worldOptions{env: []string{"VOLFAILOVER_STUCK_DETACHING=" + stuckForceInterval.String()}})
	w.leaderOff("core1")
	vol := w.sb.Volume()
	w.sb.EC2().Arm(ec2sim.Fault{Kind: ec2sim.FaultForceStuck, Resource: vol})
	t0 := w.kill("core1", false)
	var stuckAt, detachedAt time.Time
	sawDetaching := false
	w.waitFor(stuckForceInterval+failoverDeadline, vol+" seen detaching, then attached to a peer", func() (bool, string) {
		atts := w.sb.EC2().VolumeAttachments(vol)
		if len(atts) == 1 && atts[0].State == "detaching" && !sawDetaching {
			sawDetaching, stuckAt = true, time.Now()
		}
		if sawDetaching && detachedAt.IsZero() && (len(atts) == 0 || atts[0].State != "detaching") {
			detachedAt = time.Now()
		}
		h, ok := w.sb.Owner(vol)
		return sawDetaching && ok && h.Name != "core1", fmt.Sprintf("attachments %+v", atts)
	})
	owner, answered := w.waitServed(failoverDeadline, "core1")
	timings.add(t.Name(), "kill to postgres answering", answered.Sub(t0))
	forced := 0
	for _, c := range w.ec2Since(t0) {
		if c.Action == "DetachVolume" && c.Params.Get("Force") == "true" {
			forced++
		}
	}
	require.GreaterOrEqual(t, forced, 2, "got %d force detaches want at least 2 (the stuck one and the one that clears it)", forced)
	timings.add(t.Name(), "(of which stuck detaching)", detachedAt.Sub(stuckAt))
	rec := w.lastMove(t0)
	for _, st := range rec.Timeline {
		t.Logf("step %-15s attempts %d skipped %q error %q", st.Step, st.Attempts, st.Skipped, st.Error)
	}
	w.settle(owner)
}

// Scenario 8: no eligible peer in the AZ (every host is nofailover): the dead
// owner is left alone and a no_target page goes out.
func TestNoEligiblePeer(t *testing.T) {
	w := newWorld(t, worldOptions{env: []string{"VOLFAILOVER_NOFAILOVER=true"}})
	w.leaderOff("core1")
	vol := w.sb.Volume()
	t0 := w.kill("core1", false)
	w.waitFor(20*time.Second, "a no_target page", func() (bool, string) {
		return len(w.hook.find(alert.KindNoTarget)) > 0, fmt.Sprintf("pages %v", w.hook.kinds())
	})
	page := w.hook.find(alert.KindNoTarget)[0]
	timings.add(t.Name(), "kill to no_target page", time.Since(t0))
	t.Logf("page: %s %s: %s", page.Severity, page.Kind, page.Summary)
	require.Equal(t, vol, page.Volume, "the page must name the volume")
	require.Equal(t, string(alert.SeverityCritical), page.Severity)
	w.hold(3*time.Second, "no action without a target", func() (bool, string) {
		if m := w.controllerMutations(t0); len(m) > 0 {
			return false, fmt.Sprintf("mutations %v", m)
		}
		if r := w.journal(); r != nil {
			return false, "move " + r.ID + " planned"
		}
		h, ok := w.sb.Owner(vol)
		return ok && h.Name == "core1", "volume moved to " + h.Name
	})
	require.Empty(t, w.history(t0), "no move may be recorded")
	require.Empty(t, w.sb.PostgresHosts(vol), "the dead owner's Postgres is gone and no other may start")
	require.Len(t, w.hook.find(alert.KindNoTarget), 1, "the no_target page is sent once, not every round")
	// The rows acknowledged before the crash are on the volume when it comes back.
	w.revive("core1")
	owner, _ := w.waitServed(30 * time.Second)
	require.Equal(t, "core1", owner.Name)
	w.settle(owner)
}

// ec2Code counts the calls of action answered with code since t0.
func (w *world) ec2Code(since time.Time, action, code string) int {
	n := 0
	for _, c := range w.ec2Since(since) {
		if c.Action == action && c.Code == code {
			n++
		}
	}
	return n
}
