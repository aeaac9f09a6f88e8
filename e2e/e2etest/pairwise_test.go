//go:build e2e

package e2etest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/controller"
	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/health"
)

// The controllers' verdict timing in the instant profile: the default
// failure threshold, and how long a witness report counts
// (controller/probes.go: witness refresh + 3 round intervals).
const (
	failureThreshold = 3
	witnessReportAge = time.Second + 3*roundInterval
)

// pairCutHold is how long a cut between the leader and a healthy owner is
// held: twice what the leader's probes need to count (the minimum
// unreachable time), and then a witness report age more, so that every
// report from before the cut has gone stale and the verdict has every chance
// to go wrong.
const pairCutHold = 2*minUnreachable + witnessReportAge

// quietAfter is how long a scenario keeps watching after a fault ends: a
// verdict reached during the fault would have planned a move by then.
const quietAfter = 3*roundInterval + witnessReportAge

// fenceCalls lists the EC2 calls since since that would fence or move the
// volume away from instance: StopInstances of the instance, DetachVolume and
// AttachVolume of the volume, whoever sent them.
func (w *world) fenceCalls(since time.Time, instance string) []string {
	vol := w.sb.Volume()
	var out []string
	for _, c := range w.ec2Since(since) {
		what := ""
		switch c.Action {
		case "StopInstances":
			for k, vs := range c.Params {
				if strings.HasPrefix(k, "InstanceId") && len(vs) > 0 && vs[0] == instance {
					what = "StopInstances " + w.hostOf(instance)
				}
			}
		case "DetachVolume", "AttachVolume":
			if c.Params.Get("VolumeId") == vol {
				what = fmt.Sprintf("%s %s instance %q", c.Action, vol, c.Params.Get("InstanceId"))
			}
		}
		if what != "" {
			out = append(out, fmt.Sprintf("%s (+%.2fs) %s by %q", c.Time.Format("15:04:05.000"), c.Time.Sub(since).Seconds(), what, c.UserAgent))
		}
	}
	return out
}

// notFenced is the hold condition of a healthy owner under a fault that must
// not cost it the volume: no fencing call since t0, no move in progress, the
// volume attached to owner alone.
func (w *world) notFenced(owner sandbox.Host, t0 time.Time) func() (bool, string) {
	return func() (bool, string) {
		if f := w.fenceCalls(t0, owner.InstanceID); len(f) > 0 {
			return false, fmt.Sprintf("fencing calls sent: %v", f)
		}
		if r := w.journal(); r != nil {
			return false, fmt.Sprintf("move %s planned (%s), at step %s", r.ID, r.Reason, r.Step)
		}
		atts := w.sb.EC2().VolumeAttachments(w.sb.Volume())
		if len(atts) != 1 || atts[0].InstanceID != owner.InstanceID {
			return false, fmt.Sprintf("attachments %+v, want one on %s", atts, owner.Name)
		}
		return true, ""
	}
}

// leftAlone is notFenced and more: no controller mutation at all since t0,
// no completed move, and the owner's Postgres running there alone.
func (w *world) leftAlone(owner sandbox.Host, t0 time.Time) func() (bool, string) {
	fenced, moves := w.notFenced(owner, t0), w.nothingMoves(t0)
	return func() (bool, string) {
		if ok, why := fenced(); !ok {
			return false, why
		}
		if ok, why := moves(); !ok {
			return false, why
		}
		if pg := w.sb.PostgresHosts(w.sb.Volume()); len(pg) != 1 || pg[0].Name != owner.Name {
			return false, fmt.Sprintf("postgres on %v, want %s only", pg, owner.Name)
		}
		return true, ""
	}
}

// cutPair cuts the network between two hosts; it skips the test where the
// sandbox cannot.
func (w *world) cutPair(a, b string) time.Time {
	w.t.Helper()
	at := time.Now()
	err := w.sb.PartitionPair(w.ctx, a, b)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		w.t.Skipf("pairwise partition scenario needs root and iptables: %v", err)
	}
	require.NoError(w.t, err, "partition %s from %s", a, b)
	w.mon.Note("test cut %s <-> %s", a, b)
	return at
}

func (w *world) healPair(a, b string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.HealPair(w.ctx, a, b), "heal %s <-> %s", a, b)
	w.mon.Note("test healed %s <-> %s", a, b)
}

// volumeView fetches the volume's line of a host's /v1/status (filled on
// the leader only).
func (w *world) volumeView(ctx context.Context, h sandbox.Host) (controller.VolumeView, error) {
	url := strings.TrimSuffix(h.HealthURL(), "/healthz") + "/v1/status"
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return controller.VolumeView{}, fmt.Errorf("status of %s: %w", h.Name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return controller.VolumeView{}, fmt.Errorf("status of %s: %w", h.Name, err)
	}
	defer resp.Body.Close()
	var doc controller.StatusDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return controller.VolumeView{}, fmt.Errorf("decode status of %s: %w", h.Name, err)
	}
	if !doc.IsLeader {
		return controller.VolumeView{}, fmt.Errorf("status of %s: not the leader (%s)", h.Name, doc.Note)
	}
	for _, v := range doc.Volumes {
		if v.Volume == w.sb.Volume() {
			return v, nil
		}
	}
	return controller.VolumeView{}, fmt.Errorf("status of %s: volume %s not judged", h.Name, w.sb.Volume())
}

// verdictLog records the leader's verdicts on the volume as a hold polls them.
type verdictLog struct {
	last    time.Time
	seen    map[health.Verdict]int
	suspect controller.VolumeView // the last suspect view with the threshold reached
	errs    int
}

// poll reads the leader's verdict at most every 200ms; a dead verdict is a
// failure at once, whatever the controller then does with it.
func (l *verdictLog) poll(w *world, leader sandbox.Host) (bool, string) {
	if time.Since(l.last) < 200*time.Millisecond {
		return true, ""
	}
	l.last = time.Now()
	v, err := w.volumeView(w.ctx, leader)
	if err != nil {
		l.errs++
		return true, ""
	}
	l.seen[v.Verdict]++
	if v.Verdict == health.VerdictDead {
		return false, fmt.Sprintf("leader %s judged the owner dead: %s", leader.Name, v.Reason)
	}
	if n, span := probeFailures(v); v.Verdict == health.VerdictSuspect && n >= failureThreshold && span >= minUnreachable {
		l.suspect = v
	}
	return true, ""
}

// probeFailures reads the leader's consecutive failed probes and their span
// from the probe signal's detail ("leader probes failed N consecutive times
// over D ...").
func probeFailures(v controller.VolumeView) (int, time.Duration) {
	for _, s := range v.Signals {
		var n int
		var span string
		if s.Source == health.SourceProbe && !s.OK {
			if _, err := fmt.Sscanf(s.Detail, "leader probes failed %d consecutive times over %s", &n, &span); err == nil {
				d, err := time.ParseDuration(span)
				if err == nil {
					return n, d
				}
			}
		}
	}
	return 0, 0
}

// Issue 11: in a two-host AZ the leader is the owner's only peer, so no
// independent witness exists. When the leader alone cannot reach the healthy
// owner (a cut between just those two hosts), its failed probes are one
// signal with nobody to agree: the owner is suspect, never dead, and nothing
// may be fenced or moved, however long the cut lasts.
func TestLeaderAloneCannotReachOwner(t *testing.T) {
	w := newWorld(t, worldOptions{hosts: 2, hostsB: 1})
	first := w.hostOf(w.leader())
	w.leaderOn("core2")
	owner, leader := w.host("core1"), w.host("core2")
	require.Equal(t, leader.InstanceID, w.leader(), "got leader %s want core2, the owner's only AZ peer", w.hostOf(w.leader()))
	t.Logf("leader %s at the start, core2 now", first)
	w.waitFor(10*time.Second, "core2 judging the owner alive before the cut", func() (bool, string) {
		v, err := w.volumeView(w.ctx, leader)
		if err != nil {
			return false, err.Error()
		}
		return v.Verdict == health.VerdictAlive, fmt.Sprintf("verdict %s: %s", v.Verdict, v.Reason)
	})

	acked := len(w.wr.Acked())
	t0 := w.cutPair("core2", "core1")
	vl := &verdictLog{seen: map[health.Verdict]int{}}
	still := w.leftAlone(owner, t0)
	w.hold(pairCutHold, "core1 left alone while cut off from the leader core2", func() (bool, string) {
		if l := w.leader(); l != leader.InstanceID {
			return false, "leadership moved to " + w.hostOf(l) + " during the cut"
		}
		if ok, why := still(); !ok {
			return false, why
		}
		return vl.poll(w, leader)
	})
	healed := time.Now()
	w.healPair("core2", "core1")
	timings.add(t.Name(), "pair cut held", healed.Sub(t0))
	t.Logf("leader verdicts during the cut: %v (%d status reads failed)", vl.seen, vl.errs)
	require.NotEmpty(t, vl.suspect.Verdict, "the leader never judged the owner suspect with %d failed probes over %s: did the cut reach its probes? verdicts %v", failureThreshold, minUnreachable, vl.seen)
	t.Logf("suspect verdict: %s", vl.suspect.Reason)
	require.Contains(t, vl.suspect.Reason, "no independent witness agrees")
	require.False(t, vl.suspect.SuspectSince.IsZero(), "a suspect owner has a suspect-since time")

	// After the heal nothing happens late, and the leader sees the owner alive again.
	w.hold(quietAfter, "core1 left alone after the heal", func() (bool, string) {
		if ok, why := still(); !ok {
			return false, why
		}
		return vl.poll(w, leader)
	})
	w.waitFor(10*time.Second, "core2 judging the owner alive after the heal", func() (bool, string) {
		v, err := w.volumeView(w.ctx, leader)
		if err != nil {
			return false, err.Error()
		}
		return v.Verdict == health.VerdictAlive, fmt.Sprintf("verdict %s: %s", v.Verdict, v.Reason)
	})

	// Postgres served all along: the writer (outside the fault) never waited
	// long, kept committing, and every acknowledged row is on core1.
	for _, g := range w.wr.Gaps() {
		require.False(t, g.To.After(t0) && g.To.Sub(g.From) > time.Second,
			"the writer went %s without a commit (%s to %s) while only core2 was cut off core1", g.To.Sub(g.From), g.From.Format("15:04:05.000"), g.To.Format("15:04:05.000"))
	}
	require.Greater(t, len(w.wr.Acked()), acked+20, "the writer must have kept committing on core1 during the cut")
	require.Empty(t, w.fenceCalls(t0, owner.InstanceID), "no fencing call may have been sent")
	w.settle(owner)
}

// TestEtcdCutsFenceNothing cuts the owner, then the leader, off etcd (all
// else working) for longer than a session's TTL. The owner's lease expires
// but it serves and every probe reaches it: it is not fenced. The cut leader
// loses its session and another instance leads; the history checks judge
// that it sent nothing after its leadership ended (issue 13 §2).
func TestEtcdCutsFenceNothing(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.leaderOff("core1")
	owner := w.host("core1")
	t0 := time.Now()
	for _, target := range []string{owner.Name, w.hostOf(w.leader())} {
		before := w.leader()
		err := w.sb.PartitionFromEtcd(w.ctx, target)
		if errors.Is(err, sandbox.ErrPartitionUnsupported) {
			t.Skipf("partitions unsupported here: %v", err)
		}
		require.NoError(t, err, "cut %s off etcd", target)
		w.mon.Note("test cut %s off etcd", target)
		w.hold(pairCutHold, "healthy owner core1 not fenced while "+target+" is cut off etcd", w.notFenced(owner, t0))
		if w.host(target).InstanceID == before {
			w.waitFor(30*time.Second, "another leader than the cut "+target, func() (bool, string) {
				l := w.leader()
				return l != "" && l != before, "leader " + l
			})
		}
		require.NoError(t, w.sb.HealFromEtcd(w.ctx, target), "heal %s's etcd link", target)
		w.hold(quietAfter, "healthy owner core1 not fenced after "+target+"'s etcd cut", w.notFenced(owner, t0))
	}
	served, _ := w.waitServed(15 * time.Second)
	require.Equal(t, owner.Name, served.Name, "the volume stayed on core1")
	w.settle(owner)
}
