package awsops

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func TestAttachVolume(t *testing.T) {
	for _, tc := range []struct {
		name       string
		vol, inst  int
		device     string
		fault      *ec2sim.Fault
		wantErr    error
		wantMsg    string
		wantCalls  int // AttachVolume calls
		wantLinked bool
	}{
		{"available, same az", 2, 2, "/dev/xvdg", nil, nil, "", 1, true},
		{"zone mismatch refused before calling", 3, 1, "/dev/xvdg", nil, ErrZoneMismatch, "volume is in us-east-1b, instance in us-east-1a", 0, false},
		{"attached elsewhere", 1, 2, "/dev/xvdf", nil, ErrVolumeInUse, "attached to " + iid(1), 0, false},
		{"already ours: no call", 1, 1, "/dev/xvdf", nil, nil, "", 0, true},
		{"ours on another device", 1, 1, "/dev/xvdh", nil, ErrVolumeInUse, "as /dev/xvdf", 0, false},
		{"device in use on the instance", 2, 1, "/dev/xvdf", nil, ErrDeviceInUse, "device /dev/xvdf is already in use on " + iid(1), 1, false},
		{"unknown volume", 99, 1, "/dev/xvdg", nil, ErrVolumeNotFound, "", 0, false},
		{"unknown instance", 2, 99, "/dev/xvdg", nil, ErrInstanceNotFound, "", 0, false},
		{"attachment limit", 2, 2, "/dev/xvdg", &ec2sim.Fault{Kind: ec2sim.FaultAttachmentLimit}, ErrAttachmentLimit, "", 1, false},
		{"stuck attaching", 2, 2, "/dev/xvdg", &ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching}, ErrStuck, "attachment attaching for", 1, false},
		{"empty device", 2, 2, "", nil, ErrInvalidParameter, "device is empty", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pairSeed(), detachLat, nil)
			if tc.fault != nil {
				e.sim.Arm(*tc.fault)
			}
			err := e.c.AttachVolume(testCtx(t, 5*time.Second), vid(tc.vol), iid(tc.inst), tc.device)
			require.ErrorIs(t, err, tc.wantErr)
			if err != nil {
				require.ErrorContains(t, err, "attach "+vid(tc.vol)+" to "+iid(tc.inst)+" as "+tc.device)
				require.ErrorContains(t, err, tc.wantMsg)
			}
			require.Len(t, calls(e.sim.Journal(), "AttachVolume"), tc.wantCalls)
			if tc.wantLinked {
				require.Equal(t, "attached", attachmentState(e.sim, vid(tc.vol), iid(tc.inst)),
					"AttachVolume must return only once the attachment itself is attached")
			}
		})
	}
}

// An attach whose 503 hid a success is retried by the SDK, gets
// VolumeInUse, and is recognised as ours.
func TestAttachApplyThenFail(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, nil)
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultApplyThenFail, Action: "AttachVolume"})
	require.NoError(t, e.c.AttachVolume(testCtx(t, 5*time.Second), vid(2), iid(2), "/dev/xvdg"))
	require.Equal(t, "attached", attachmentState(e.sim, vid(2), iid(2)))
	ac := calls(e.sim.Journal(), "AttachVolume")
	require.Len(t, ac, 2, "got %+v", ac)
	require.GreaterOrEqual(t, ac[0].Status, 500, "first attempt answered 5xx")
	require.Equal(t, "VolumeInUse", ac[1].Code, "the SDK retry got VolumeInUse")
	require.Equal(t, 2, ac[1].Attempt)
}

// VolumeInUse for an attachment that is not ours stays an error.
func TestAttachVolumeInUseNotOurs(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, nil)
	ctx := testCtx(t, 5*time.Second)
	// Attach to instance 2, then ask for instance 1 while the first attach
	// is still attaching: the pre-read sees it and refuses.
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching})
	err := e.c.AttachVolume(ctx, vid(2), iid(2), "/dev/xvdg")
	require.ErrorIs(t, err, ErrStuck)
	err = e.c.AttachVolume(ctx, vid(2), iid(1), "/dev/xvdg")
	require.ErrorIs(t, err, ErrVolumeInUse)
	require.ErrorContains(t, err, "attached to "+iid(2)+" as /dev/xvdg (attaching)")
	require.Len(t, calls(e.sim.Journal(), "AttachVolume"), 1)
}

func TestAttachWaitCancelIsPrompt(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, func(o *Options) { o.Wait.StuckAttaching = time.Minute })
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.c.AttachVolume(ctx, vid(2), iid(2), "/dev/xvdg")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "attachment attaching")
	require.Less(t, time.Since(start), time.Second)
}
