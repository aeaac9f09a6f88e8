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
		force     bool
		wantErr   error
		wantStops int    // StopInstances calls
		wantForce string // Force param of the call
		wait      bool   // WaitStopped must then succeed
	}{
		{"running", "running", false, nil, 1, "false", true},
		{"running forced", "running", true, nil, 1, "true", true},
		{"already stopped", "stopped", true, nil, 0, "", true},
		{"terminated", "terminated", true, nil, 0, "", true},
		// ec2sim never completes a seeded "stopping" (no transition is
		// scheduled for it), so these rows check the calls only;
		// TestStopStuckThenForce covers a stopping instance reaching stopped.
		{"stopping plain", "stopping", false, nil, 0, "", false},
		{"stopping forced issues force", "stopping", true, nil, 1, "true", false},
		{"pending", "pending", true, ErrIncorrectState, 1, "true", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := &ec2sim.Seed{Instances: []ec2sim.SeedInstance{inst(1, azA)}}
			seed.Instances[0].State = tc.state
			e := newEnv(t, seed, nil, nil)
			ctx := testCtx(t, 5*time.Second)
			err := e.c.StopInstance(ctx, iid(1), tc.force)
			stops := calls(e.sim.Journal(), "StopInstances")
			require.Len(t, stops, tc.wantStops)
			if tc.wantStops > 0 {
				require.Equal(t, tc.wantForce, stops[0].Params.Get("Force"))
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
