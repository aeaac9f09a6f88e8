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

// fileReport files what witness saw of the owner.
func fileReport(s *snapshot, witness string, reachable bool) {
	s.reports[pOwner] = append(s.reports[pOwner], state.Report{Owner: pOwner, Witness: witness, Reachable: reachable, At: pNow})
}

// judgeRounds runs rounds of assess with the leader's probe failing.
func judgeRounds(s *snapshot, t *term, leader string, rounds int) health.Result {
	for range rounds {
		down := errors.New("leader cannot reach the owner")
		assess(t, s, map[string]probeResult{pOwner: {pg: down, agent: down}}, health.DefaultPolicy(), leader)
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
	ok := map[string]probeResult{pOwner: {}}
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
