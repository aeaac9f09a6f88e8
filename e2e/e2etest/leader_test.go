//go:build e2e

package e2etest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/state"
)

// stepMutation says whether a controller's EC2 call or fleet request is the
// mutation that carries out a step, so repeats can be counted.
func stepMutation(step state.Step, vol string, c *ec2Call, r *fleetRequest) bool {
	switch {
	case c != nil && c.Mutating():
		switch step {
		case state.StepFenced:
			return c.Action == "StopInstances"
		case state.StepDetached:
			return c.Action == "DetachVolume"
		case state.StepAttached:
			return c.Action == "AttachVolume" || c.Action == "CreateTags"
		}
	case r != nil && r.Mutating():
		switch step {
		case state.StepMetadataMoved:
			return r.Method == "PATCH" && strings.HasSuffix(r.Path, "/machines")
		case state.StepRescheduled:
			return r.Method == "PUT" && strings.Contains(r.Path, "/units/postgres@"+vol)
		}
	}
	return false
}

// Scenario 4: the leader's process is SIGKILLed while a failover is in a
// given step. The cloud is slowed (ec2sim latency on the step's call) so the
// kill lands inside the step; the new leader must finish from the journal
// without repeating any step the dead leader completed.
func TestLeaderKilledMidFailover(t *testing.T) {
	prev := map[state.Step]state.Step{}
	for i := 1; i < len(state.Steps); i++ {
		prev[state.Steps[i]] = state.Steps[i-1]
	}
	for _, tc := range []struct {
		step state.Step
		// slow is the EC2 action delayed while the step runs ("" = none: the
		// kill follows the previous step's journal write at once).
		slow string
	}{
		{step: state.StepFenced, slow: "StopInstances"},
		{step: state.StepDetached, slow: "DetachVolume"},
		{step: state.StepAttached, slow: "AttachVolume"},
		{step: state.StepMetadataMoved},
		{step: state.StepRescheduled},
		{step: state.StepVerified},
	} {
		t.Run(string(tc.step), func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			w.leaderOff("core1")
			old := w.leader()
			oldHost := w.hostOf(old)
			vol := w.sb.Volume()
			if tc.slow != "" {
				w.sb.EC2().Arm(ec2sim.Fault{Kind: ec2sim.FaultLatency, Action: tc.slow, Latency: 3 * time.Second})
			}
			t0 := w.kill("core1", false)

			// Wait for the journal to show the step before ours as done.
			// A tight poll: the later steps take milliseconds.
			var atKill *state.Record
			deadline := time.Now().Add(failoverDeadline)
			tick := time.NewTicker(3 * time.Millisecond)
			for atKill == nil {
				if r := w.journal(); r != nil && r.Step == prev[tc.step] {
					atKill = r
					break
				}
				require.True(t, time.Now().Before(deadline), "timed out waiting for the journal to reach step %s", prev[tc.step])
				require.Nil(t, w.mon.Violation(), "invariant broken before the kill")
				<-tick.C
			}
			tick.Stop()
			if tc.slow != "" {
				// Let the step's describe and guard run so the kill meets the slowed call.
				w.waitFor(5*time.Second, "the slowed "+tc.slow+" in flight", func() (bool, string) {
					return time.Since(atKill.Updated) > 400*time.Millisecond, "waiting"
				})
			}
			killAt := w.signalController(oldHost, syscall.SIGKILL)
			landed := "unknown"
			if r := w.journal(); r != nil {
				next, _ := r.Step.Next()
				landed = string(next)
			} else {
				landed = "after done"
			}
			t.Logf("killed leader %s %s after the kill of core1; journal then showed step %s done, so the kill landed in %s",
				oldHost, killAt.Sub(t0).Round(time.Millisecond), atKill.Step, landed)

			owner, answered := w.waitServed(failoverDeadline+sessionTTL, "core1")
			if tc.slow != "" {
				cut := false
				for _, c := range w.ec2Since(t0) {
					cut = cut || (c.Action == tc.slow && c.Code == string(ec2sim.FaultLatency) && strings.Contains(c.UserAgent, old))
				}
				require.True(t, cut, "the dead leader's slowed %s must have been cut short by the kill (journal shows none)", tc.slow)
			}
			rec := w.lastMove(t0)
			timings.add(t.Name(), "kill of owner to postgres answering", answered.Sub(t0))
			timings.add(t.Name(), "kill of leader to postgres answering", answered.Sub(killAt))
			require.Equal(t, atKill.ID, rec.ID, "the new leader must finish the same record, not plan another")
			require.Equal(t, state.StepDone, rec.Step)

			// Steps the dead leader completed were not repeated by anyone after the kill.
			var done []state.Step
			for _, s := range state.Steps[1:] {
				if stepIndex(s) <= stepIndex(atKill.Step) {
					done = append(done, s)
				}
			}
			counts := map[state.Step]int{}
			for _, s := range state.Steps[1:] {
				for _, c := range w.ec2Since(t0) {
					if strings.Contains(c.UserAgent, "volfailover") && stepMutation(s, vol, &c, nil) {
						counts[s]++
					}
				}
				for _, r := range w.fleetSince(t0) {
					if strings.Contains(r.UserAgent, "volfailover") && stepMutation(s, vol, nil, &r) {
						counts[s]++
					}
				}
			}
			t.Logf("mutations per step since the owner's kill: %v", counts)
			for _, s := range done {
				for _, c := range w.ec2Since(killAt) {
					require.False(t, stepMutation(s, vol, &c, nil), "step %s was done before the kill but %s repeated %s", s, w.hostOf(senderOf(c.UserAgent)), c.Action)
				}
				for _, r := range w.fleetSince(killAt) {
					require.False(t, stepMutation(s, vol, nil, &r), "step %s was done before the kill but %s repeated %s %s", s, w.hostOf(senderOf(r.UserAgent)), r.Method, r.Path)
				}
			}
			// The timeline says who did what: done steps by the dead leader, the rest by the new one.
			newLeaders := map[string]bool{}
			for _, st := range rec.Timeline {
				if stepIndex(st.Step) <= stepIndex(atKill.Step) {
					require.Equal(t, old, st.Leader, "step %s done before the kill must name the dead leader", st.Step)
				} else {
					require.NotEqual(t, old, st.Leader, "step %s after the kill cannot be the dead leader's", st.Step)
					newLeaders[w.hostOf(st.Leader)] = true
				}
			}
			t.Logf("remaining steps finished by %v", keys(newLeaders))
			w.settle(owner)
		})
	}
}

func stepIndex(s state.Step) int {
	for i, x := range state.Steps {
		if x == s {
			return i
		}
	}
	return -1
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return fmt.Sprint(out)
}
