package ec2sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

// Describes are eventually consistent ("Eventual consistency in the Amazon
// EC2 API"): for DescribeLag after a change, DescribeVolumes,
// DescribeInstances (state and block device mapping) and
// DescribeInstanceStatus still report the state before it. Mutations act on
// the real state at once.
func TestDescribeLagAfterWrites(t *testing.T) {
	lat := fixedLatencies
	lat.DescribeLag = 2 * time.Second
	e := newEnv(t, worldSeed(), withFakeClock(lat))
	bdm := func(inst string) []string {
		var out []string
		for _, b := range e.instance(inst).BlockDeviceMappings {
			out = append(out, *b.Ebs.VolumeId+" "+string(b.Ebs.Status))
		}
		return out
	}
	type look struct {
		at          time.Duration
		volState    string // DescribeVolumes attachment state of v1 ("" = none)
		bdm         []string
		instState   string
		statusCount int // rows of DescribeInstanceStatus for i1 (running only)
	}
	// t=0: plain detach of v1 from i1 (done at 3 s) and a default stop of i1 (done at 30 s).
	_, err := e.detach(v1, false)
	require.NoError(t, err)
	_, err = e.stop(i1, false)
	require.NoError(t, err)
	require.Equal(t, "detaching", attachmentState(e.sim, v1), "detaching for real at once")
	require.Equal(t, "stopping", e.sim.InstanceState(i1), "stopping for real at once")
	var now time.Duration
	for _, l := range []look{
		{0, "attached", []string{v1 + " attached"}, "running", 1},
		{1999 * time.Millisecond, "attached", []string{v1 + " attached"}, "running", 1},
		{2 * time.Second, "detaching", []string{v1 + " detaching"}, "stopping", 0},
		{4 * time.Second, "detaching", []string{v1 + " detaching"}, "stopping", 0},
		{5 * time.Second, "", nil, "stopping", 0},
		{31 * time.Second, "", nil, "stopping", 0},
		{32 * time.Second, "", nil, "stopped", 0},
	} {
		e.clk.Step(l.at - now)
		now = l.at
		_, att := e.attachState(v1)
		require.Equal(t, l.volState, att, "DescribeVolumes at %s", l.at)
		require.Equal(t, l.bdm, bdm(i1), "DescribeInstances block devices at %s", l.at)
		require.Equal(t, l.instState, string(e.instance(i1).State.Name), "DescribeInstances state at %s", l.at)
		st, err := e.ec2.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{i1}})
		require.NoError(t, err)
		require.Len(t, st.InstanceStatuses, l.statusCount, "DescribeInstanceStatus at %s", l.at)
	}
	// The mutation sees the truth: v1 is available although a describe
	// might have said attached a moment ago.
	_, err = e.attach(v1, i2, "/dev/sdf")
	require.NoError(t, err)
	_, att := e.attachState(v1)
	require.Equal(t, "", att, "the new attachment is not visible yet")
	e.clk.Step(2 * time.Second)
	_, att = e.attachState(v1)
	require.Equal(t, "attaching", att, "the attach is visible 2 s after it was accepted")
	e.clk.Step(2 * time.Second)
	_, att = e.attachState(v1)
	require.Equal(t, "attached", att, "attached at 2 s, visible from 2 s + 2 s")
}

// The instant profile reads its own writes.
func TestInstantProfileHasNoLag(t *testing.T) {
	l, err := ProfileLatencies(ProfileInstant)
	require.NoError(t, err)
	require.Zero(t, l.DescribeLag)
	e := newEnv(t, worldSeed())
	_, err = e.detach(v1, true)
	require.NoError(t, err)
	_, att := e.attachState(v1)
	require.Equal(t, "", att)
}

// A request whose client goes away during a latency fault is applied all
// the same: EC2 acts on what it received, the delay is only the answer's.
func TestLatencyFaultAppliesWithoutTheClient(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	e.sim.Arm(Fault{Kind: FaultLatency, Action: "DetachVolume", Latency: time.Minute})
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.ec2.DetachVolume(c, &ec2.DetachVolumeInput{VolumeId: &v1})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool {
		j := e.sim.Journal()
		return len(j) == 1 && j[0].Code == string(FaultLatency)
	}, 5*time.Second, 5*time.Millisecond, "waiting for the abandoned call in the journal")
	require.Equal(t, []callSummary{{"DetachVolume", 1, 0, "latency"}}, summarize(e.sim.Journal()))
	require.Equal(t, "detaching", attachmentState(e.sim, v1), "applied although nobody got the answer")
	e.clk.Step(3 * time.Second)
	require.Equal(t, "", attachmentState(e.sim, v1), "and its transition runs to the end")
}

// attachmentState is v's current (not described) attachment state, "" if none.
func attachmentState(s *Sim, vol string) string {
	if a := s.VolumeAttachments(vol); len(a) > 0 {
		return a[0].State
	}
	return ""
}
