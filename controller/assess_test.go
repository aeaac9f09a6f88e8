package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// assessWorld is an owner and n-1 other hosts in one AZ; the first other host leads.
func assessWorld(n int) (*snapshot, *term, string) {
	s := newSnapshot(pNow, state.Keys{Prefix: state.DefaultPrefix})
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("i-%017x", i)
		ip := fmt.Sprintf("10.0.0.%d", i)
		s.hosts[id] = state.Host{Instance: id, Machine: pMachine(id), AZ: pAZ, PrivateIP: ip}
		s.instances[id] = awsops.Instance{ID: id, AvailabilityZone: pAZ, PrivateIP: ip, State: "running", InstanceStatus: "ok", SystemStatus: "ok"}
	}
	s.volumes = []awsops.Volume{{ID: pVol, AvailabilityZone: pAZ, Attachments: []awsops.Attachment{{InstanceID: pOwner, State: "attached"}}}}
	s.owners = ownersOf(s, nil)
	return s, newTerm(3), pPeerA
}

// fileReport files what witness saw of the owner; an unreachable report has
// seen it so for the default minimum.
func fileReport(s *snapshot, witness string, reachable bool) {
	r := state.Report{Owner: pOwner, Witness: witness, Reachable: reachable, At: pNow}
	if !reachable {
		r.Since = pNow.Add(-health.DefaultMinUnreachable)
	}
	s.reports[pOwner] = append(s.reports[pOwner], r)
}

// failedProbes is the leader's probe run after n failed probes every 250 ms.
func failedProbes(n int) probeRun {
	down := errors.New("leader cannot reach the owner")
	var r probeRun
	for i := range n {
		r = r.record(probeResult{pg: down, agent: down}, pNow.Add(time.Duration(i-n+1)*250*time.Millisecond))
	}
	return r
}

// judgeRounds runs rounds of assess with the leader's probes failing for the
// default minimum.
func judgeRounds(s *snapshot, t *term, leader string, rounds int) health.Result {
	for range rounds {
		assess(t, s, map[string]probeRun{pOwner: failedProbes(11)}, health.DefaultPolicy(), leader)
	}
	return t.verdicts[pOwner]
}

// TestAssessWitnessRule: the leader is never its own independent witness, and
// a registration withdrawn by a clean shutdown is not evidence (issue 11, item 1).
func TestAssessWitnessRule(t *testing.T) {
	for _, tt := range []struct {
		name  string
		hosts int
		setup func(s *snapshot, t *term, leader string)
		want  health.Verdict
	}{
		{"two-host AZ, leader alone cannot reach a healthy owner", 2, func(s *snapshot, _ *term, leader string) {
			fileReport(s, leader, false)
		}, health.VerdictSuspect},
		{"four-host AZ, leader and one witness of two agree", 4, func(s *snapshot, _ *term, leader string) {
			fileReport(s, leader, false)
			fileReport(s, pPeerB, false)
			fileReport(s, "i-00000000000000004", true)
		}, health.VerdictSuspect},
		{"three-host AZ, the one independent witness agrees", 3, func(s *snapshot, _ *term, leader string) {
			fileReport(s, leader, false)
			fileReport(s, pPeerB, false)
		}, health.VerdictDead},
		{"registration expired", 2, func(s *snapshot, t *term, _ string) {
			t.seen[pOwner] = true
			delete(s.hosts, pOwner)
		}, health.VerdictDead},
		{"registration withdrawn by a clean shutdown", 2, func(s *snapshot, t *term, _ string) {
			t.seen[pOwner] = true
			delete(s.hosts, pOwner)
			s.departed[pOwner] = state.Departed{Instance: pOwner, At: pNow.Add(-time.Second), Reason: "clean shutdown"}
		}, health.VerdictSuspect},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, term, leader := assessWorld(tt.hosts)
			tt.setup(s, term, leader)
			got := judgeRounds(s, term, leader, 3)
			require.Equal(t, tt.want, got.Verdict, "got %s (%s), want %s", got.Verdict, got.Reason, tt.want)
		})
	}
}

// TestAssessImpairedReadings: one impaired status reading is not death on its
// own; two consecutive ones are; a good reading in between starts over
// (issue 11, item 2).
func TestAssessImpairedReadings(t *testing.T) {
	s, term, leader := assessWorld(4)
	impaired := func(v string) {
		inst := s.instances[pOwner]
		inst.SystemStatus = v
		s.instances[pOwner] = inst
	}
	ok := map[string]probeRun{pOwner: probeRun{}.record(probeResult{}, pNow)}
	impaired("impaired")
	assess(term, s, ok, health.DefaultPolicy(), leader)
	require.Equal(t, health.VerdictSuspect, term.verdicts[pOwner].Verdict, "one reading: %s", term.verdicts[pOwner].Reason)
	impaired("ok")
	assess(term, s, ok, health.DefaultPolicy(), leader)
	require.Equal(t, health.VerdictAlive, term.verdicts[pOwner].Verdict)
	impaired("impaired")
	assess(term, s, ok, health.DefaultPolicy(), leader)
	require.Equal(t, health.VerdictSuspect, term.verdicts[pOwner].Verdict, "the count started over")
	assess(term, s, ok, health.DefaultPolicy(), leader)
	require.Equal(t, health.VerdictDead, term.verdicts[pOwner].Verdict, "two consecutive readings: %s", term.verdicts[pOwner].Reason)
}

// TestAssessEC2Authoritative: EC2 reporting the owner stopping, stopped,
// shutting down or terminated makes it dead and actionable in the first round
// that reads it, whatever the probes say and however briefly they failed.
func TestAssessEC2Authoritative(t *testing.T) {
	for _, tt := range []struct {
		state  string
		probes probeRun
	}{
		{"stopped", failedProbes(1)},
		{"stopped", probeRun{}.record(probeResult{}, pNow)},
		{"terminated", failedProbes(2)},
		{"terminated", probeRun{}},
		{"stopping", failedProbes(1)},
		{"shutting-down", failedProbes(1)},
	} {
		t.Run(fmt.Sprintf("%s after %d failed probes", tt.state, tt.probes.failures), func(t *testing.T) {
			s, term, leader := assessWorld(3)
			inst := s.instances[pOwner]
			inst.State = tt.state
			s.instances[pOwner] = inst
			assess(term, s, map[string]probeRun{pOwner: tt.probes}, health.DefaultPolicy(), leader)
			got := term.verdicts[pOwner]
			require.Equal(t, health.VerdictDead, got.Verdict, got.Reason)
			require.True(t, got.Actionable, got.Reason)
			require.Contains(t, got.Reason, "ec2-state: instance "+tt.state)
		})
	}
	// Running with probes failing briefly is not dead, witnesses agreeing or not.
	s, term, leader := assessWorld(3)
	fileReport(s, pPeerB, false)
	assess(term, s, map[string]probeRun{pOwner: failedProbes(4)}, health.DefaultPolicy(), leader)
	require.Equal(t, health.VerdictSuspect, term.verdicts[pOwner].Verdict, term.verdicts[pOwner].Reason)
}

// TestProbeRun: a run of failures spans from the first failed probe's start to
// the latest's; an answer ends it, and a late outcome of an older probe
// changes nothing.
func TestProbeRun(t *testing.T) {
	down := errors.New("refused")
	fail, ok := probeResult{pg: down, agent: down}, probeResult{}
	var r probeRun
	r = r.record(ok, pNow)
	require.Equal(t, 0, r.failures)
	require.True(t, r.pgAnswered)
	r = r.record(fail, pNow.Add(250*time.Millisecond))
	r = r.record(fail, pNow.Add(500*time.Millisecond))
	require.Equal(t, 2, r.failures)
	require.Equal(t, 250*time.Millisecond, r.span())
	require.False(t, r.pgAnswered)
	late := r.record(ok, pNow.Add(400*time.Millisecond))
	require.Equal(t, r, late, "an older probe's outcome arriving late is ignored")
	r = r.record(probeResult{pg: down}, pNow.Add(750*time.Millisecond))
	require.Equal(t, 0, r.failures, "the agent answered: reachable")
	require.Zero(t, r.span())
	require.False(t, r.pgAnswered, "Postgres did not answer: the volume does not arm on it")
}
