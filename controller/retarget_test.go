package controller

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// TestTwoOwnersDieTwoSpares: two owners die at once and exactly two hosts
// can take their volumes. The second volume's ID is chosen so that rendezvous
// hashing ranks the same spare first for both: the move planned first must
// reserve it, so the second goes to the other spare, each attached once and
// no attach refused.
func TestTwoOwnersDieTwoSpares(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	spares := []string{c.hosts[0].id, c.hosts[1].id}
	first := rendezvousTop("target/"+testVolume, spares, 1, "")[0]
	var vol2 string
	for i := range 1000 {
		id := fmt.Sprintf("vol-0fedcba98765%05x", i)
		if rendezvousTop("target/"+id, spares, 1, "")[0] == first {
			vol2 = id
			break
		}
	}
	require.NotEmpty(t, vol2, "a volume ID ranking %s first like %s", first, testVolume)
	owner2 := c.hosts[2]
	require.NoError(t, c.ec2.Apply(&ec2sim.Seed{Volumes: []ec2sim.SeedVolume{{ID: vol2, AZ: owner2.az, Size: 10,
		Tags: map[string]string{"volfailover:managed": "true"}, Attachment: &ec2sim.SeedAttachment{InstanceID: owner2.id, Device: "/dev/xvdb"}}}}))
	require.NoError(t, c.fc.PatchMetadata(context.Background(), []fleet.MetadataOp{{Op: fleet.OpAdd, MachineID: owner2.machine, Key: "postgres", Value: vol2}}))
	unit2 := "postgres@" + vol2 + ".service"
	require.NoError(t, c.fleet.CreateUnit(unit2, unitText, "launched"))
	require.Eventually(t, func() bool { return slices.Equal(c.fleet.Running(unit2), []string{owner2.machine}) },
		10*time.Second, 20*time.Millisecond, "waiting for %s to run on %s", unit2, owner2.machine)
	c.start()

	c.kill(c.owner())
	c.kill(owner2)

	done := func(vol string) *state.Record {
		var last *state.Record
		require.Eventually(t, func() bool {
			resp, err := c.admin.Get(context.Background(), c.keys.HistoryVolume(vol), clientv3.WithPrefix())
			require.NoError(t, err)
			for _, kv := range resp.Kvs {
				r, err := state.ParseRecord(kv.Value, kv.CreateRevision)
				require.NoError(t, err)
				if r.Step == state.StepDone && r.Abandoned == "" {
					last = r
					return true
				}
			}
			return false
		}, 20*time.Second, 20*time.Millisecond, "waiting for the failover of %s to complete", vol)
		return last
	}
	r1, r2 := done(testVolume), done(vol2)
	require.NotEqual(t, r1.To.Instance, r2.To.Instance, "both volumes moved to %s", r1.To.Instance)
	require.ElementsMatch(t, spares, []string{r1.To.Instance, r2.To.Instance}, "targets are the two spares")
	for vol, to := range map[string]string{testVolume: r1.To.Instance, vol2: r2.To.Instance} {
		att := c.ec2.VolumeAttachments(vol)
		require.Len(t, att, 1, "attachments of %s", vol)
		require.Equal(t, to, att[0].InstanceID, "%s attached to its record's target", vol)
	}
	require.Equal(t, 2, c.ec2Calls("AttachVolume"), "one successful attach per volume")
	refused := 0
	for _, call := range c.ec2.Journal() {
		if call.Action == "AttachVolume" && call.Status != http.StatusOK {
			refused++
		}
	}
	require.Zero(t, refused, "no attach refused: the first move reserved its target")
	require.Empty(t, r1.PreviousTargets, "first move kept its target")
	require.Empty(t, r2.PreviousTargets, "second move kept its target")
}

// TestRefusedAttachRetargets: the chosen target refuses every attach
// (AttachmentLimitExceeded). Retrying it cannot succeed, so the move re-plans
// to another host, recording the refusing one as a previous target.
func TestRefusedAttachRetargets(t *testing.T) {
	c := newCluster(t, clusterSpec{azs: fourInOneAZ})
	cands := []string{c.hosts[0].id, c.hosts[1].id, c.hosts[2].id}
	refusing := rendezvousTop("target/"+testVolume, cands, 1, "")[0]
	c.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultAttachmentLimit, Resource: refusing, Sticky: true})
	c.start()
	c.kill(c.owner())

	rec := c.waitDone(1, 15*time.Second)
	require.NotEqual(t, refusing, rec.To.Instance, "moved to the refusing host")
	require.Equal(t, []string{refusing}, rec.PreviousTargets, "the refusing host is recorded")
	c.assertMovedTo(c.byID(rec.To.Instance))
	require.Equal(t, 1, c.ec2Calls("AttachVolume"), "one successful attach")
}
