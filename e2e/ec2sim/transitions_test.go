package ec2sim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

// TestTransitionsRecordTheTruth follows a volume and an instance through a
// move on a fake clock: every state change is recorded at the moment it was
// applied, so a check can compare a call's arrival with it.
func TestTransitionsRecordTheTruth(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	t0 := e.clk.Now().UTC()
	seeded := len(e.sim.Transitions())
	_, err := e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	e.clk.Step(2 * time.Second)
	_, err = e.detach(v2, false)
	require.NoError(t, err)
	e.clk.Step(3 * time.Second)
	_, err = e.stop(i1, false)
	require.NoError(t, err)
	e.clk.Step(30 * time.Second)

	var got []Transition
	for _, tr := range e.sim.Transitions()[seeded:] {
		tr.Time = tr.Time.Truncate(time.Second)
		got = append(got, tr)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Second) }
	want := []Transition{
		{Time: at(0), Volume: v2, Instance: i2, State: "attaching"},
		{Time: at(2 * time.Second), Volume: v2, Instance: i2, State: "attached"},
		{Time: at(2 * time.Second), Volume: v2, Instance: i2, State: "detaching"},
		{Time: at(5 * time.Second), Volume: v2, Instance: i2, State: AttachmentDetached},
		{Time: at(5 * time.Second), Instance: i1, State: "stopping"},
		{Time: at(35 * time.Second), Instance: i1, State: "stopped"},
	}
	require.Equal(t, want, got, "got transitions %+v want %+v", got, want)
}

// TestSeedTransitions: the seeded world is the first entry of the record, so
// a history read from the start knows where every volume and instance began.
func TestSeedTransitions(t *testing.T) {
	e := newEnv(t, worldSeed())
	var attached, running int
	for _, tr := range e.sim.Transitions() {
		switch {
		case tr.Volume != "" && tr.State == "attached":
			attached++
		case tr.Volume == "" && tr.State == "running":
			running++
		}
	}
	require.Positive(t, attached, "got no seeded attachment in %+v", e.sim.Transitions())
	require.Positive(t, running, "got no seeded running instance in %+v", e.sim.Transitions())
}

// TestAppliedBeforeALateAnswer: a latency fault delays the answer, not the
// application, and the journal's Applied says so.
func TestAppliedBeforeALateAnswer(t *testing.T) {
	e := newEnv(t, worldSeed())
	e.sim.Arm(Fault{Kind: FaultLatency, Action: "AttachVolume", Latency: 300 * time.Millisecond})
	_, err := e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	c := e.lastCall()
	require.Equal(t, "AttachVolume", c.Action)
	require.False(t, c.Applied.IsZero(), "got no applied time on %+v", c)
	require.Less(t, c.Applied.Sub(c.Time), 100*time.Millisecond, "got applied %s after arrival, want at once", c.Applied.Sub(c.Time))
	var attachedAt time.Time
	for _, tr := range e.sim.Transitions() {
		if tr.Volume == v2 && tr.State == "attached" {
			attachedAt = tr.Time
		}
	}
	require.False(t, attachedAt.IsZero(), "the attach completed")
	require.Less(t, attachedAt.Sub(c.Time), 100*time.Millisecond, "got attached %s after arrival, want before the delayed answer", attachedAt.Sub(c.Time))

	e.sim.Arm(Fault{Kind: FaultThrottle, Action: "DetachVolume", Sticky: true})
	_, err = e.client(retrying(1)).DetachVolume(ctx(t), &ec2.DetachVolumeInput{VolumeId: aws.String(v2)})
	require.Error(t, err)
	require.True(t, e.lastCall().Applied.IsZero(), "a throttled call was never applied: got %+v", e.lastCall())
}
