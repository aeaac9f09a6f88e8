package ec2sim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/clock"
	testclock "k8s.io/utils/clock/testing"
)

func TestInstantProfile(t *testing.T) {
	e := newEnv(t, worldSeed())
	out, err := e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	require.Equal(t, types.VolumeAttachmentStateAttaching, out.State, "the response shows attaching (rule 1)")
	st, att := e.attachState(v2)
	require.Equal(t, [2]string{"in-use", "attached"}, [2]string{st, att}, "the next call sees attached")
	in := e.instance(i2)
	require.Len(t, in.BlockDeviceMappings, 1, "instance BDM gains the device")

	dout, err := e.detach(v2, false)
	require.NoError(t, err)
	require.Equal(t, types.VolumeAttachmentStateDetaching, dout.State)
	st, att = e.attachState(v2)
	require.Equal(t, [2]string{"available", ""}, [2]string{st, att})
	require.Empty(t, e.instance(i2).BlockDeviceMappings, "BDM entry gone")

	sout, err := e.stop(i2, false)
	require.NoError(t, err)
	require.Equal(t, types.InstanceStateNameStopping, sout.StoppingInstances[0].CurrentState.Name)
	require.Equal(t, types.InstanceStateNameRunning, sout.StoppingInstances[0].PreviousState.Name)
	require.Equal(t, "stopped", e.sim.InstanceState(i2))
}

func TestAsyncTransitionsOnFakeClock(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
	state := func(vol string) [2]string { st, att := e.attachState(vol); return [2]string{st, att} }

	t.Run("attach", func(t *testing.T) {
		_, err := e.attach(v2, i2, "/dev/xvdh")
		require.NoError(t, err)
		require.Equal(t, [2]string{"in-use", "attaching"}, state(v2), "rule 1: in-use while the attachment is attaching")
		require.Equal(t, types.AttachmentStatusAttaching, e.instance(i2).BlockDeviceMappings[0].Ebs.Status)
		e.clk.Step(1999 * time.Millisecond)
		require.Equal(t, [2]string{"in-use", "attaching"}, state(v2), "not before the attach delay")
		e.clk.Step(time.Millisecond)
		require.Equal(t, [2]string{"in-use", "attached"}, state(v2), "attached after 2 s")
	})
	t.Run("second attach while attaching is VolumeInUse (rule 3)", func(t *testing.T) {
		_, err := e.attach(v2, i1, "/dev/xvdj")
		code, _ := apiCode(t, err)
		require.Equal(t, "VolumeInUse", code)
	})
	t.Run("detach", func(t *testing.T) {
		_, err := e.detach(v2, false)
		require.NoError(t, err)
		require.Equal(t, [2]string{"in-use", "detaching"}, state(v2), "rule 2: volume stays in-use while detaching")
		again, err := e.detach(v2, false)
		require.NoError(t, err, "a plain detach while detaching is accepted")
		require.Equal(t, types.VolumeAttachmentStateDetaching, again.State)
		e.clk.Step(2 * time.Second)
		require.Equal(t, [2]string{"in-use", "detaching"}, state(v2))
		e.clk.Step(time.Second)
		require.Equal(t, [2]string{"available", ""}, state(v2))
	})
	t.Run("stop", func(t *testing.T) {
		_, err := e.stop(i1, false)
		require.NoError(t, err)
		require.Equal(t, types.InstanceStateNameStopping, e.instance(i1).State.Name)
		e.clk.Step(29 * time.Second)
		require.Equal(t, "stopping", e.sim.InstanceState(i1))
		e.clk.Step(time.Second)
		in := e.instance(i1)
		require.Equal(t, types.InstanceStateNameStopped, in.State.Name)
		require.Equal(t, int32(80), *in.State.Code)
		require.Equal(t, "Client.UserInitiatedShutdown", *in.StateReason.Code)
		require.Equal(t, [2]string{"in-use", "attached"}, state(v1), "rule 5: volumes stay attached across a stop")
		out, err := e.stop(i1, false)
		require.NoError(t, err, "stopping a stopped instance succeeds")
		require.Equal(t, types.InstanceStateNameStopped, out.StoppingInstances[0].CurrentState.Name)
		require.Equal(t, types.InstanceStateNameStopped, out.StoppingInstances[0].PreviousState.Name)
	})
	t.Run("attach to a stopped instance", func(t *testing.T) {
		_, err := e.attach(v2, i4, "/dev/xvdh")
		require.NoError(t, err)
		e.clk.Step(2 * time.Second)
		require.Equal(t, [2]string{"in-use", "attached"}, state(v2))
	})
}

func TestForceDetachFromEveryState(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env) // leaves v2 on i2 in some attachment state
		state string
	}{
		{"attaching", func(e *env) {
			_, err := e.attach(v2, i2, "/dev/xvdh")
			require.NoError(e.t, err)
		}, "attaching"},
		{"attached", func(e *env) {
			_, err := e.attach(v2, i2, "/dev/xvdh")
			require.NoError(e.t, err)
			e.clk.Step(2 * time.Second)
		}, "attached"},
		{"detaching", func(e *env) {
			_, err := e.attach(v2, i2, "/dev/xvdh")
			require.NoError(e.t, err)
			e.clk.Step(2 * time.Second)
			_, err = e.detach(v2, false)
			require.NoError(e.t, err)
		}, "detaching"},
		{"busy", func(e *env) {
			_, err := e.attach(v2, i2, "/dev/xvdh")
			require.NoError(e.t, err)
			e.clk.Step(2 * time.Second)
			e.sim.Arm(Fault{Kind: FaultBusy, Resource: v2})
			_, err = e.detach(v2, false)
			require.NoError(e.t, err)
			e.clk.Step(3 * time.Second)
		}, "busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies))
			tc.setup(e)
			_, att := e.attachState(v2)
			require.Equal(t, tc.state, att, "setup")
			out, err := e.detach(v2, true)
			require.NoError(t, err, "rule 4: force accepted while %s", tc.state)
			require.Equal(t, types.VolumeAttachmentStateDetaching, out.State)
			e.clk.Step(time.Second)
			st, att := e.attachState(v2)
			require.Equal(t, [2]string{"available", ""}, [2]string{st, att}, "force detach completes after its delay")
			// A stale timer of the earlier transition must not resurrect anything.
			e.clk.Step(10 * time.Second)
			st, _ = e.attachState(v2)
			require.Equal(t, "available", st)
		})
	}
}

func TestDeviceAliasNeverCompletes(t *testing.T) {
	e := newEnv(t, worldSeed())
	// /dev/sdf is /dev/xvdf to the guest: AWS accepts it and it sits in attaching.
	_, err := e.attach(v2, i1, "/dev/sdf")
	require.NoError(t, err)
	_, att := e.attachState(v2)
	require.Equal(t, "attaching", att)
}

func TestSetInstanceState(t *testing.T) {
	e := newEnv(t, worldSeed())
	require.NoError(t, e.sim.SetInstanceState(i1, "terminated"))
	st, _ := e.attachState(v1)
	require.Equal(t, "available", st, "terminating detaches volumes (deleteOnTermination=false)")
	require.Equal(t, types.InstanceStateNameTerminated, e.instance(i1).State.Name)
	_, err := e.stop(i1, false)
	code, _ := apiCode(t, err)
	require.Equal(t, "IncorrectInstanceState", code)
	require.NoError(t, e.sim.SetInstanceState(i5, "running"))
	_, err = e.attach(v2, i5, "/dev/xvdh")
	require.NoError(t, err, "attach works once the instance runs")
	require.Error(t, e.sim.SetInstanceState(i1, "exploded"))
	require.Error(t, e.sim.SetInstanceState(instID(99), "running"))
	require.Equal(t, "", e.sim.InstanceState(instID(99)))
}

func TestLatencyProfiles(t *testing.T) {
	l, err := ProfileLatencies(ProfileAWSTypical)
	require.NoError(t, err)
	require.Equal(t, [2]time.Duration{time.Second, 4 * time.Second}, [2]time.Duration{l.AttachMin, l.AttachMax})
	require.NoError(t, l.Validate())
	_, err = ProfileLatencies("fast")
	require.ErrorContains(t, err, `"fast"`)
	_, err = New(Options{Latencies: &Latencies{AttachMin: 2 * time.Second, AttachMax: time.Second}})
	require.ErrorContains(t, err, "attach")
	_, err = New(Options{Clock: tickerOnly{testclock.NewFakeClock(time.Now())}})
	require.ErrorContains(t, err, "AfterFunc", "a clock that cannot schedule callbacks is refused")

	// aws-typical on a fake clock: the attach completes within [1 s, 4 s].
	fc := testclock.NewFakeClock(time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, worldSeed(), func(o *Options) { o.Profile = ProfileAWSTypical; o.Clock = fc })
	_, err = e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	e.clk.Step(999 * time.Millisecond)
	require.Equal(t, "attaching", e.sim.VolumeAttachments(v2)[0].State, "not before 1 s")
	e.clk.Step(3001 * time.Millisecond)
	require.Equal(t, "attached", e.sim.VolumeAttachments(v2)[0].State, "by 4 s")
	require.Equal(t, 2*time.Second, l.DescribeLag, "aws-typical describes lag writes")
}

func TestStatusOfStoppedAfterStopWithoutForce(t *testing.T) {
	e := newEnv(t, worldSeed())
	_, err := e.stop(i3, true)
	require.NoError(t, err)
	out, err := e.ec2.DescribeInstanceStatus(ctx(t), &ec2.DescribeInstanceStatusInput{InstanceIds: []string{i3}, IncludeAllInstances: aws.Bool(true)})
	require.NoError(t, err)
	require.Equal(t, types.SummaryStatusNotApplicable, out.InstanceStatuses[0].InstanceStatus.Status)
}

// tickerOnly hides AfterFunc of the clock it wraps.
type tickerOnly struct{ clock.WithTicker }

func TestRealClockTimersAndClose(t *testing.T) {
	short := Latencies{AttachMin: 5 * time.Millisecond, AttachMax: 20 * time.Millisecond,
		DetachMin: time.Hour, DetachMax: time.Hour, ForceDetachMin: time.Hour, ForceDetachMax: time.Hour,
		StopMin: time.Hour, StopMax: time.Hour}
	e := newEnv(t, worldSeed(), func(o *Options) { o.Latencies = &short })
	_, err := e.attach(v2, i2, "/dev/xvdh")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		a := e.sim.VolumeAttachments(v2)
		return len(a) == 1 && a[0].State == "attached"
	}, 5*time.Second, 5*time.Millisecond, "waiting for the attach to complete on the real clock")

	// Transitions an hour away are pending when the Sim closes: Close stops
	// them (goleak in TestMain checks nothing is left running).
	_, err = e.detach(v2, false)
	require.NoError(t, err)
	_, err = e.stop(i3, false)
	require.NoError(t, err)
	e.sim.Close()
	e.sim.Close() // idempotent
	require.ErrorContains(t, e.sim.Apply(&Seed{}), "closed")
}

func TestStoppingSetByHandHoldsUntilForceStop(t *testing.T) {
	e := newEnv(t, worldSeed())
	inst := i3
	require.NoError(t, e.sim.SetInstanceState(inst, "stopping"))
	_, err := e.stop(inst, false)
	require.NoError(t, err)
	require.Equal(t, "stopping", e.sim.InstanceState(inst), "a plain stop must not finish a stop set by hand")
	_, err = e.stop(inst, true)
	require.NoError(t, err)
	require.Equal(t, "stopped", e.sim.InstanceState(inst), "a force stop must finish it (instant profile)")
}
