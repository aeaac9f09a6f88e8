package awsops

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// lagLat is detachLat with describes lagging writes by 150 ms, as EC2's
// eventually consistent API may ("Eventual consistency in the Amazon EC2
// API"); StuckAttaching/StuckDetaching in testOptions (300 ms) exceed it.
var lagLat = func() *ec2sim.Latencies {
	l := *detachLat
	l.DescribeLag = 150 * time.Millisecond
	return &l
}()

// The waits tolerate describes that trail the writes: right after the call
// a detach still reads "attached" and an attach reads no attachment at all,
// for the whole lag window, and both still complete.
func TestWaitsTolerateDescribeLag(t *testing.T) {
	e := newEnv(t, pairSeed(), lagLat, nil)
	ctx := testCtx(t, 5*time.Second)

	start := time.Now()
	require.NoError(t, e.c.DetachVolume(ctx, vid(1), iid(1), false))
	require.GreaterOrEqual(t, time.Since(start), lagLat.DescribeLag, "the detach cannot be seen done before the lag has passed")
	require.Empty(t, e.sim.VolumeAttachments(vid(1)))
	require.Len(t, calls(e.sim.Journal(), "DetachVolume"), 1, "a detach read back as attached is not issued again")

	dev, err := e.c.AttachVolume(ctx, vid(1), iid(2), DeviceNames())
	require.NoError(t, err)
	require.Equal(t, "/dev/sdf", dev)
	require.Len(t, calls(e.sim.Journal(), "AttachVolume"), 1, "an attach not yet visible is not issued again")
	require.Equal(t, "attached", attachmentState(e.sim, vid(1), iid(2)))
}

// A name the lagging block device mapping does not show yet is refused by
// EC2 as in use; the attach moves on to the next name.
func TestAttachFallsBackWhenTheMappingLags(t *testing.T) {
	seed := pairSeed()
	seed.Volumes = append(seed.Volumes, managedVol(4, azA, 0, ""))
	e := newEnv(t, seed, lagLat, nil)
	ctx := testCtx(t, 5*time.Second)
	// Someone attached volume 2 to instance 2 as /dev/sdf a moment ago.
	_, err := e.c.api.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(vid(2)), InstanceId: aws.String(iid(2)), Device: aws.String("/dev/sdf")})
	require.NoError(t, err)

	dev, err := e.c.AttachVolume(ctx, vid(4), iid(2), DeviceNames())
	require.NoError(t, err)
	require.Equal(t, "/dev/sdg", dev)
	ac := calls(e.sim.Journal(), "AttachVolume")
	require.Len(t, ac, 3, "got %+v", ac)
	require.Equal(t, "InvalidParameterValue", ac[1].Code, "/dev/sdf refused as already in use")
	require.Equal(t, "/dev/sdg", ac[2].Params.Get("Device"))
}
