package awsops

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func TestStopInstance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		state     string // seeded state
		protected bool   // DisableApiStop
		force     bool
		wantErr   error
		wantStops int    // StopInstances calls
		wantForce string // Force param of the call
		wantSkip  string // SkipOsShutdown param of the call
		wait      bool   // WaitStopped must then succeed
	}{
		{"running", "running", false, false, nil, 1, "false", "", true},
		{"running forced is a hard stop", "running", false, true, nil, 1, "true", "true", true},
		{"already stopped", "stopped", false, true, nil, 0, "", "", true},
		{"terminated", "terminated", false, true, nil, 0, "", "", true},
		{"stopping plain", "stopping", false, false, nil, 0, "", "", false},
		// A seeded "stopping" is an OS shutdown that hangs; the hard stop ends it.
		{"stopping forced is sent the hard stop", "stopping", false, true, nil, 1, "true", "true", true},
		{"pending", "pending", false, true, ErrIncorrectState, 1, "true", "true", false},
		{"stop protection", "running", true, true, ErrStopRefused, 1, "true", "true", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := &ec2sim.Seed{Instances: []ec2sim.SeedInstance{inst(1, azA)}}
			seed.Instances[0].State = tc.state
			seed.Instances[0].DisableAPIStop = tc.protected
			e := newEnv(t, seed, nil, nil)
			ctx := testCtx(t, 5*time.Second)
			err := e.c.StopInstance(ctx, iid(1), tc.force)
			stops := calls(e.sim.Journal(), "StopInstances")
			require.Len(t, stops, tc.wantStops)
			if tc.wantStops > 0 {
				require.Equal(t, tc.wantForce, stops[0].Params.Get("Force"))
				require.Equal(t, tc.wantSkip, stops[0].Params.Get("SkipOsShutdown"))
			}
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, "stop "+iid(1))
				return
			}
			require.NoError(t, err)
			if !tc.wait {
				return
			}
			require.NoError(t, e.c.WaitStopped(ctx, iid(1)))
			require.Contains(t, []string{"stopped", "terminated"}, e.sim.InstanceState(iid(1)))
		})
	}
}

// An owner already stopping (its OS shutting down, which takes the
// profile's stop time) is fenced at once by the hard stop: the guest ends
// when the call is answered and the stop completes within the hard-stop
// time, not the graceful one. Before issue 12 the fence sent Force alone,
// which waits for the OS shutdown first.
func TestHardStopOfStoppingOwner(t *testing.T) {
	lat := &ec2sim.Latencies{StopMin: time.Minute, StopMax: time.Minute, HardStopMin: 20 * time.Millisecond, HardStopMax: 20 * time.Millisecond}
	e := newEnv(t, &ec2sim.Seed{Instances: []ec2sim.SeedInstance{inst(1, azA)}}, lat, nil)
	ctx := testCtx(t, 5*time.Second)
	require.NoError(t, e.c.StopInstance(ctx, iid(1), false), "someone else's graceful stop")
	require.Equal(t, "stopping", e.sim.InstanceState(iid(1)))
	require.True(t, e.sim.GuestRunning(iid(1)), "the OS is still shutting down")

	require.NoError(t, e.c.StopInstance(ctx, iid(1), true))
	require.False(t, e.sim.GuestRunning(iid(1)), "the hard stop ends the guest at once")
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.NoError(t, e.c.WaitStopped(short, iid(1)), "stopped within the hard-stop time, not the minute of the graceful stop")
}

// Both refusals a stop can get are ErrStopRefused; other codes are not.
func TestStopRefused(t *testing.T) {
	for _, tc := range []struct {
		code string
		want bool
	}{
		{"OperationNotPermitted", true},
		{"UnsupportedOperation", true},
		{"IncorrectInstanceState", false},
		{"UnauthorizedOperation", false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			require.Equal(t, tc.want, stopRefused(apiErr(400, tc.code, "")))
		})
	}
}

func TestStopInstanceUnknown(t *testing.T) {
	e := newEnv(t, &ec2sim.Seed{}, nil, nil)
	err := e.c.StopInstance(testCtx(t, 5*time.Second), iid(9), true)
	require.ErrorIs(t, err, ErrInstanceNotFound)
	require.Empty(t, mutations(e.sim.Journal()))
}

// A plain stop that sticks in "stopping" is waited on until the deadline;
// a forced fence then clears it.
func TestStopStuckThenForce(t *testing.T) {
	lat := &ec2sim.Latencies{StopMin: 20 * time.Millisecond, StopMax: 20 * time.Millisecond}
	e := newEnv(t, &ec2sim.Seed{Instances: []ec2sim.SeedInstance{inst(1, azA)}}, lat, nil)
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultStuckStopping, Resource: iid(1)})
	require.NoError(t, e.c.StopInstance(testCtx(t, 5*time.Second), iid(1), false))

	short, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	err := e.c.WaitStopped(short, iid(1))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "state stopping")

	ctx := testCtx(t, 5*time.Second)
	require.NoError(t, e.c.StopInstance(ctx, iid(1), true))
	require.NoError(t, e.c.WaitStopped(ctx, iid(1)))
	stops := calls(e.sim.Journal(), "StopInstances")
	require.Len(t, stops, 2)
	require.Equal(t, "true", stops[1].Params.Get("Force"))
}

func TestWaitStoppedCancelIsPrompt(t *testing.T) {
	e := newEnv(t, &ec2sim.Seed{Instances: []ec2sim.SeedInstance{inst(1, azA)}}, nil, func(o *Options) {
		o.Wait.Initial, o.Wait.Max = 5*time.Second, 5*time.Second // a long sleep between polls
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.c.WaitStopped(ctx, iid(1)) }()
	require.Eventually(t, func() bool { return len(calls(e.sim.Journal(), "DescribeInstances")) > 0 },
		5*time.Second, 5*time.Millisecond, "waiting for the first poll")
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), time.Second, "wait must end promptly after cancel")
	case <-time.After(3 * time.Second):
		t.Fatal("WaitStopped did not return within 3s of cancel")
	}
}
