package awsops

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func TestCheckPermissions(t *testing.T) {
	all := []string{"AttachVolume", "DetachVolume", "StopInstances", "CreateTags", "DescribeVolumes", "DescribeInstances", "DescribeInstanceStatus"}
	for _, tc := range []struct {
		name   string
		seed   *ec2sim.Seed
		denied string // action armed with Unauthorized, "" = none
		wantID string // volume ID the dry runs name
	}{
		{"all allowed, managed volume used", pairSeed(), "", vid(1)},
		{"detach denied", pairSeed(), "DetachVolume", vid(1)},
		{"stop denied, no volumes: placeholders", &ec2sim.Seed{}, "StopInstances", placeholderVolume},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.seed, nil, nil)
			if tc.denied != "" {
				e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnauthorized, Action: tc.denied, Sticky: true})
			}
			res := e.c.CheckPermissions(testCtx(t, 5*time.Second))
			require.Len(t, res, len(all))
			for i, r := range res {
				require.Equal(t, all[i], r.Action)
				if r.Action == tc.denied {
					require.False(t, r.Allowed, "%s: got allowed, want denied", r.Action)
					require.ErrorIs(t, r.Err, ErrUnauthorized)
					continue
				}
				require.True(t, r.Allowed, "%s: got denied (%v), want allowed", r.Action, r.Err)
				require.NoError(t, r.Err)
			}
			j := e.sim.Journal()
			require.Empty(t, mutations(j), "a permission check must change nothing")
			dry := 0
			for _, c := range j {
				if c.DryRun {
					dry++
					require.Equal(t, 1, c.Attempt, "%s: dry runs are not retried", c.Action)
				}
			}
			require.Equal(t, len(all), dry)
			require.Equal(t, tc.wantID, calls(j, "AttachVolume")[0].Params.Get("VolumeId"))
		})
	}
}
