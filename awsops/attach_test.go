package awsops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func TestAttachVolume(t *testing.T) {
	one := func(d string) []string { return []string{d} }
	for _, tc := range []struct {
		name       string
		vol, inst  int
		devices    []string
		fault      *ec2sim.Fault
		wantErr    error
		wantMsg    string
		wantDevice string
		wantCalls  int // AttachVolume calls
	}{
		{"available, same az", 2, 2, one("/dev/xvdg"), nil, nil, "", "/dev/xvdg", 1},
		{"zone mismatch refused before calling", 3, 1, one("/dev/xvdg"), nil, ErrZoneMismatch, "volume is in us-east-1b, instance in us-east-1a", "", 0},
		{"attached elsewhere", 1, 2, one("/dev/xvdf"), nil, ErrVolumeInUse, "attached to " + iid(1), "", 0},
		{"already ours: no call", 1, 1, one("/dev/xvdf"), nil, nil, "", "/dev/xvdf", 0},
		{"already ours on a later name of the range: no call", 1, 1, DeviceNames("/dev/sdg", "/dev/xvdf"), nil, nil, "", "/dev/xvdf", 0},
		{"ours on a name outside the range", 1, 1, one("/dev/xvdh"), nil, ErrVolumeInUse, "as /dev/xvdf", "", 0},
		{"only name taken on the instance: no call", 2, 1, one("/dev/xvdf"), nil, ErrDeviceInUse, "the instance shows " + vid(1) + " there", "", 0},
		{"name taken under its other spelling: next name", 2, 1, DeviceNames("/dev/sdf"), nil, nil, "", "/dev/sdg", 1},
		{"unknown volume", 99, 1, one("/dev/xvdg"), nil, ErrVolumeNotFound, "", "", 0},
		{"unknown instance", 2, 99, one("/dev/xvdg"), nil, ErrInstanceNotFound, "", "", 0},
		{"attachment limit", 2, 2, one("/dev/xvdg"), &ec2sim.Fault{Kind: ec2sim.FaultAttachmentLimit}, ErrAttachmentLimit, "", "", 1},
		{"stuck attaching, no name left", 2, 2, one("/dev/xvdg"), &ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching}, ErrStuck, "no device name left", "", 1},
		{"stuck attaching, next name", 2, 2, DeviceNames(), &ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching}, nil, "", "/dev/sdg", 2},
		{"no devices", 2, 2, nil, nil, ErrInvalidParameter, "no device names given", "", 0},
		{"instance store name refused", 2, 2, []string{"/dev/xvdb", "/dev/sdf"}, nil, ErrInvalidParameter, "instance store", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pairSeed(), detachLat, nil)
			if tc.fault != nil {
				e.sim.Arm(*tc.fault)
			}
			dev, err := e.c.AttachVolume(testCtx(t, 5*time.Second), vid(tc.vol), iid(tc.inst), tc.devices)
			require.ErrorIs(t, err, tc.wantErr)
			if err != nil {
				require.ErrorContains(t, err, "attach "+vid(tc.vol)+" to "+iid(tc.inst))
				require.ErrorContains(t, err, tc.wantMsg)
			}
			require.Equal(t, tc.wantDevice, dev)
			require.Len(t, calls(e.sim.Journal(), "AttachVolume"), tc.wantCalls)
			if tc.wantDevice != "" {
				atts := e.sim.VolumeAttachments(vid(tc.vol))
				require.Len(t, atts, 1)
				require.Equal(t, ec2sim.SeedAttachment{InstanceID: iid(tc.inst), Device: tc.wantDevice, State: "attached"}, atts[0],
					"AttachVolume must return only once the attachment itself is attached, on the name it returns")
			}
			if errors.Is(tc.wantErr, ErrStuck) {
				require.Empty(t, e.sim.VolumeAttachments(vid(tc.vol)), "a stuck attach is taken off again")
			}
		})
	}
}

// A name an attach stuck on is remembered for the instance and tried last
// (AWS: a device name taken inside the guest never completes until reboot).
func TestAttachTriesBadNamesLast(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, nil)
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultStuckAttaching})
	ctx := testCtx(t, 5*time.Second)
	_, err := e.c.AttachVolume(ctx, vid(2), iid(2), []string{"/dev/sdf"})
	require.ErrorIs(t, err, ErrStuck)
	e.sim.ResetJournal()

	dev, err := e.c.AttachVolume(ctx, vid(2), iid(2), DeviceNames())
	require.NoError(t, err)
	require.Equal(t, "/dev/sdg", dev, "the name that stuck before is tried last")
	ac := calls(e.sim.Journal(), "AttachVolume")
	require.Len(t, ac, 1, "got %+v", ac)
}

// An attach whose 503 hid a success is retried by the SDK, gets
// VolumeInUse, and is recognised as ours.
func TestAttachApplyThenFail(t *testing.T) {
	e := newEnv(t, pairSeed(), detachLat, nil)
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultApplyThenFail, Action: "AttachVolume"})
	dev, err := e.c.AttachVolume(testCtx(t, 5*time.Second), vid(2), iid(2), []string{"/dev/xvdg"})
	require.NoError(t, err)
	require.Equal(t, "/dev/xvdg", dev)
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
	e.c.opts.Wait.StuckAttaching = time.Minute
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := e.c.AttachVolume(short, vid(2), iid(2), []string{"/dev/xvdg"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = e.c.AttachVolume(ctx, vid(2), iid(1), []string{"/dev/xvdg"})
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
	_, err := e.c.AttachVolume(ctx, vid(2), iid(2), []string{"/dev/xvdg"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "attachment attaching")
	require.Less(t, time.Since(start), time.Second)
}
