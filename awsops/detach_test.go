package awsops

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// pairSeed: instances 1 and 2 in azA, 3 in azB; volume 1 attached to
// instance 1 as /dev/xvdf; volume 2 available in azA; volume 3 available in azB.
func pairSeed() *ec2sim.Seed {
	return &ec2sim.Seed{
		Instances: []ec2sim.SeedInstance{inst(1, azA), inst(2, azA), inst(3, azB)},
		Volumes:   []ec2sim.SeedVolume{managedVol(1, azA, 1, "/dev/xvdf"), managedVol(2, azA, 0, ""), managedVol(3, azB, 0, "")},
	}
}

var detachLat = &ec2sim.Latencies{
	DetachMin: 10 * time.Millisecond, DetachMax: 10 * time.Millisecond,
	ForceDetachMin: 10 * time.Millisecond, ForceDetachMax: 10 * time.Millisecond,
	AttachMin: 10 * time.Millisecond, AttachMax: 10 * time.Millisecond,
}

func TestDetachVolume(t *testing.T) {
	for _, tc := range []struct {
		name        string
		vol, inst   int
		force       bool
		wantDetach  int    // DetachVolume calls
		wantForce   string // Force param of the first call
		wantErr     error
		wantRemains bool // vol 1 is still attached to inst 1 afterwards
	}{
		{"attached plain", 1, 1, false, 1, "false", nil, false},
		{"attached forced", 1, 1, true, 1, "true", nil, false},
		{"not attached: no call", 2, 1, false, 0, "", nil, true},
		{"attached to another instance: no call", 1, 2, true, 0, "", nil, true},
		{"unknown volume: already gone", 99, 1, true, 0, "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pairSeed(), detachLat, nil)
			err := e.c.DetachVolume(testCtx(t, 5*time.Second), vid(tc.vol), iid(tc.inst), tc.force)
			require.ErrorIs(t, err, tc.wantErr)
			dc := calls(e.sim.Journal(), "DetachVolume")
			require.Len(t, dc, tc.wantDetach)
			if tc.wantDetach > 0 {
				require.Equal(t, tc.wantForce, dc[0].Params.Get("Force"))
				require.Equal(t, iid(tc.inst), dc[0].Params.Get("InstanceId"))
			}
			require.Equal(t, tc.wantRemains, attachmentState(e.sim, vid(1), iid(1)) != "",
				"attachments now: %v", e.sim.VolumeAttachments(vid(1)))
		})
	}
}

// Stuck detaching or busy: the plain detach reports ErrStuck, the forced
// one gets the volume off.
func TestDetachStuckThenForce(t *testing.T) {
	for _, kind := range []ec2sim.FaultKind{ec2sim.FaultStuckDetaching, ec2sim.FaultBusy} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, pairSeed(), detachLat, nil)
			e.sim.Arm(ec2sim.Fault{Kind: kind, Resource: vid(1)})
			ctx := testCtx(t, 5*time.Second)
			err := e.c.DetachVolume(ctx, vid(1), iid(1), false)
			require.ErrorIs(t, err, ErrStuck)
			require.ErrorContains(t, err, "detach "+vid(1)+" from "+iid(1))
			require.NotEmpty(t, attachmentState(e.sim, vid(1), iid(1)), "still attached after the stuck plain detach")

			require.NoError(t, e.c.DetachVolume(ctx, vid(1), iid(1), true))
			require.Empty(t, e.sim.VolumeAttachments(vid(1)))
			dc := calls(e.sim.Journal(), "DetachVolume")
			require.Equal(t, "true", dc[len(dc)-1].Params.Get("Force"))
		})
	}
}

// A force detach that also sticks is re-issued every StuckDetaching.
func TestDetachForceStuckReissues(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, func(o *Options) { o.Wait.StuckDetaching = 50 * time.Millisecond })
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultForceStuck, Resource: vid(1)})
	require.NoError(t, e.c.DetachVolume(testCtx(t, 5*time.Second), vid(1), iid(1), true))
	require.Empty(t, e.sim.VolumeAttachments(vid(1)))
	require.Len(t, calls(e.sim.Journal(), "DetachVolume"), 2, "the first force stuck, the second cleared it")
}

func TestDetachWaitCancelIsPrompt(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, func(o *Options) { o.Wait.StuckDetaching = time.Minute })
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultForceStuck, Resource: vid(1), Sticky: true})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.c.DetachVolume(ctx, vid(1), iid(1), true)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "attachment detaching")
	require.Less(t, time.Since(start), time.Second, "got %s, want the wait to end at the deadline", time.Since(start))
}
