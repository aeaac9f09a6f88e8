package awsops

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// TestCheckPermissions: the dry runs name the real volume, owner, target
// and tag keys, so IAM's resource conditions are what decides; an ID that
// does not exist is NotFound, never a false "allowed" or "denied".
func TestCheckPermissions(t *testing.T) {
	all := []string{"StopInstances", "DetachVolume", "AttachVolume", "CreateTags", "ModifyInstanceAttribute", "DescribeVolumes", "DescribeInstances", "DescribeInstanceStatus"}
	tags := map[string]string{"volfailover:epoch": "1", "volfailover:failover-id": "check"}
	real := PermissionTargets{Volume: vid(1), Owner: iid(1), OwnerDevice: "/dev/xvdf", Target: iid(2), Device: "/dev/xvdb", Tags: tags}
	for _, tc := range []struct {
		name    string
		targets PermissionTargets
		denied  string           // action armed with Unauthorized, "" = none
		failed  map[string]error // actions that cannot decide, with their error
	}{
		{"all allowed", real, "", nil},
		{"detach denied", real, "DetachVolume", nil},
		{"modify denied", real, "ModifyInstanceAttribute", nil},
		{"unknown target is NotFound, not allowed", func() PermissionTargets { p := real; p.Target = iid(9); return p }(), "",
			map[string]error{"AttachVolume": ErrInstanceNotFound}},
		{"no target", func() PermissionTargets { p := real; p.Target = ""; return p }(), "",
			map[string]error{"AttachVolume": ErrNoTarget}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pairSeed(), nil, nil)
			if tc.denied != "" {
				e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnauthorized, Action: tc.denied, Sticky: true})
			}
			res := e.c.CheckPermissions(testCtx(t, 5*time.Second), tc.targets)
			require.Len(t, res, len(all))
			for i, r := range res {
				require.Equal(t, all[i], r.Action)
				switch {
				case r.Action == tc.denied:
					require.False(t, r.Allowed, "%s: got allowed, want denied", r.Action)
					require.ErrorIs(t, r.Err, ErrUnauthorized)
				case tc.failed[r.Action] != nil:
					require.False(t, r.Allowed, "%s: got allowed, want undecided", r.Action)
					require.ErrorIs(t, r.Err, tc.failed[r.Action])
					require.NotErrorIs(t, r.Err, ErrUnauthorized)
				default:
					require.True(t, r.Allowed, "%s: got denied (%v), want allowed", r.Action, r.Err)
					require.NoError(t, r.Err)
				}
			}
			j := e.sim.Journal()
			require.Empty(t, mutations(j), "a permission check must change nothing")
			for _, c := range j {
				require.True(t, c.DryRun, "%s: every call is a dry run", c.Action)
				require.Equal(t, 1, c.Attempt, "%s: dry runs are not retried", c.Action)
			}
			if tc.targets.Target != "" {
				att := calls(j, "AttachVolume")[0].Params
				require.Equal(t, vid(1), att.Get("VolumeId"))
				require.Equal(t, tc.targets.Target, att.Get("InstanceId"))
				require.Equal(t, "/dev/xvdb", att.Get("Device"))
			}
			stop := calls(j, "StopInstances")[0].Params
			require.Equal(t, iid(1), stop.Get("InstanceId.1"), "the owner is fenced")
			ct := calls(j, "CreateTags")[0].Params
			require.Equal(t, vid(1), ct.Get("ResourceId.1"))
			require.Equal(t, []string{"volfailover:epoch", "volfailover:failover-id"}, []string{ct.Get("Tag.1.Key"), ct.Get("Tag.2.Key")},
				"the tag keys the controller writes, which the IAM policy allows")
			mod := calls(j, "ModifyInstanceAttribute")[0].Params
			require.Equal(t, "/dev/xvdf", mod.Get("BlockDeviceMapping.1.DeviceName"))
			require.Equal(t, "false", mod.Get("BlockDeviceMapping.1.Ebs.DeleteOnTermination"))
		})
	}
}
