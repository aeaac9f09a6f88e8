package awsops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// fleetSeed seeds n running instances and n managed volumes, volume k
// attached to instance k, alternating between two AZs, plus unmanaged volumes.
func fleetSeed(n, unmanaged int) *ec2sim.Seed {
	s := &ec2sim.Seed{}
	for k := 1; k <= n; k++ {
		az := azA
		if k%2 == 0 {
			az = azB
		}
		s.Instances = append(s.Instances, inst(k, az))
		s.Volumes = append(s.Volumes, managedVol(k, az, k, "/dev/xvdf"))
	}
	for k := 1; k <= unmanaged; k++ {
		s.Volumes = append(s.Volumes, ec2sim.SeedVolume{ID: vid(100000 + k), AZ: azA, Size: 5, Tags: map[string]string{"other": "x"}})
	}
	return s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// TestDescribeRoundCost measures one describe round (ManagedVolumes +
// Instances of their owners) over 1,000 volumes on 1,000 instances.
func TestDescribeRoundCost(t *testing.T) {
	const n = 1000
	e := newEnv(t, fleetSeed(n, 20), nil, nil)
	ctx := testCtx(t, 20*time.Second)
	start := time.Now()
	vols, err := e.c.ManagedVolumes(ctx)
	require.NoError(t, err)
	require.Len(t, vols, n, "got %d managed volumes, want %d", len(vols), n)
	var owners []string
	for _, v := range vols {
		require.Len(t, v.Attachments, 1, "volume %s", v.ID)
		owners = append(owners, v.Attachments[0].InstanceID)
	}
	insts, err := e.c.Instances(ctx, owners)
	require.NoError(t, err)
	require.Len(t, insts, n)
	for _, id := range owners {
		require.Equal(t, "running", insts[id].State, "instance %s", id)
		require.NotEmpty(t, insts[id].InstanceStatus, "instance %s has no status check", id)
	}
	j := e.sim.Journal()
	pages, descI, descS := len(calls(j, "DescribeVolumes")), len(calls(j, "DescribeInstances")), len(calls(j, "DescribeInstanceStatus"))
	t.Logf("describe round over %d volumes on %d instances: %d EC2 calls (DescribeVolumes %d, DescribeInstances %d, DescribeInstanceStatus %d) in %s",
		n, n, len(j), pages, descI, descS, time.Since(start).Round(time.Millisecond))
	// A last page that is exactly full may be followed by one empty page.
	require.LessOrEqual(t, pages, ceilDiv(n, pageSize)+1, "DescribeVolumes pages")
	// 1,000 owners are listed, not asked for by ID: a page per 1,000
	// instances (plus, as for volumes, a possible empty last page).
	require.LessOrEqual(t, descI, ceilDiv(n, pageSize)+1, "DescribeInstances pages")
	require.LessOrEqual(t, descS, ceilDiv(n, pageSize)+1, "DescribeInstanceStatus pages")
	require.LessOrEqual(t, len(j), 10, "EC2 calls per round")
	require.Equal(t, uint64(len(j)), e.c.Stats()["DescribeVolumes"].Calls+e.c.Stats()["DescribeInstances"].Calls+e.c.Stats()["DescribeInstanceStatus"].Calls,
		"Stats calls must match the journal")
}

func TestManagedVolumesPaginatesAndFilters(t *testing.T) {
	const n = 1203
	e := newEnv(t, fleetSeed(n, 7), nil, nil)
	vols, err := e.c.ManagedVolumes(testCtx(t, 20*time.Second))
	require.NoError(t, err)
	require.Len(t, vols, n, "unmanaged volumes must be filtered out, every page followed")
	for i := 1; i < len(vols); i++ {
		require.Less(t, vols[i-1].ID, vols[i].ID, "volumes sorted and unique")
	}
	dv := calls(e.sim.Journal(), "DescribeVolumes")
	require.Len(t, dv, ceilDiv(n, pageSize), "got %d pages", len(dv))
	for _, c := range dv {
		require.Equal(t, "tag-key", c.Params.Get("Filter.1.Name"))
		require.Equal(t, DefaultManagedTagKey, c.Params.Get("Filter.1.Value.1"))
		require.Equal(t, fmt.Sprint(pageSize), c.Params.Get("MaxResults"))
	}
	require.NotEmpty(t, dv[1].Params.Get("NextToken"), "second page must carry the token")
}

func TestManagedVolumesTagValue(t *testing.T) {
	seed := fleetSeed(4, 0)
	seed.Volumes[0].Tags[DefaultManagedTagKey] = "false"
	e := newEnv(t, seed, nil, func(o *Options) { o.ManagedTagValue = "true" })
	vols, err := e.c.ManagedVolumes(testCtx(t, 5*time.Second))
	require.NoError(t, err)
	require.Len(t, vols, 3)
	require.Equal(t, "tag:"+DefaultManagedTagKey, e.sim.Journal()[0].Params.Get("Filter.1.Name"))
}

func TestVolumesByID(t *testing.T) {
	ids := func(ns ...int) []string {
		var out []string
		for _, n := range ns {
			out = append(out, vid(n))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		ask       []string
		wantFound []string
		wantCalls int
	}{
		{"all known", ids(1, 2, 3), ids(1, 2, 3), 1},
		{"one bad id: absent, no retry", ids(1, 2, 900, 3), ids(1, 2, 3), 1},
		{"two bad ids", ids(901, 1, 902), ids(1), 1},
		{"only bad ids", ids(901, 902), nil, 1},
		{"malformed id dropped without a call", append(ids(1), "vol-xyz"), ids(1), 1},
		{"duplicates", ids(2, 2, 2), ids(2), 1},
		{"empty", nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fleetSeed(5, 0), nil, nil)
			got, err := e.c.Volumes(testCtx(t, 5*time.Second), tc.ask)
			require.NoError(t, err)
			require.Len(t, got, len(tc.wantFound), "got %v", got)
			for _, id := range tc.wantFound {
				require.Equal(t, id, got[id].ID)
				require.Equal(t, "in-use", got[id].State)
			}
			require.Len(t, calls(e.sim.Journal(), "DescribeVolumes"), tc.wantCalls)
		})
	}
}

func TestVolumesChunks(t *testing.T) {
	const n = 1100
	e := newEnv(t, fleetSeed(n, 0), nil, nil)
	var ask []string
	for k := 1; k <= n; k++ {
		ask = append(ask, vid(k))
	}
	ask = append(ask, vid(5000)) // one bad ID lands in the last chunk
	got, err := e.c.Volumes(testCtx(t, 10*time.Second), ask)
	require.NoError(t, err)
	require.Len(t, got, n)
	dv := calls(e.sim.Journal(), "DescribeVolumes")
	require.Len(t, dv, ceilDiv(n+1, filterChunk), "one filtered call per chunk; the bad id is simply absent")
	for _, c := range dv {
		n := 0
		for k := range c.Params {
			if strings.HasPrefix(k, "Filter.1.Value.") {
				n++
			}
		}
		require.Equal(t, "volume-id", c.Params.Get("Filter.1.Name"))
		require.LessOrEqual(t, n, filterChunk, "got %d volume ids in one call, want at most %d", n, filterChunk)
	}
}

func TestInstances(t *testing.T) {
	seed := &ec2sim.Seed{Instances: []ec2sim.SeedInstance{inst(1, azA), inst(2, azB), inst(3, azA), inst(4, azA)}}
	seed.Instances[1].State = "stopped"
	seed.Instances[2].Tags = map[string]string{"Name": "core3"}
	e := newEnv(t, seed, nil, nil)
	require.NoError(t, e.sim.SetInstanceStatus(iid(3), "impaired", "ok"))
	got, err := e.c.Instances(testCtx(t, 5*time.Second), []string{iid(1), iid(2), iid(3), iid(77), "i-bad", iid(1)})
	require.NoError(t, err)
	require.Len(t, got, 3, "got %v", got)
	require.Equal(t, Instance{ID: iid(1), AvailabilityZone: azA, PrivateIP: "10.0.0.2", State: "running", InstanceStatus: "ok", SystemStatus: "ok", Tags: map[string]string{}}, got[iid(1)])
	require.Equal(t, "stopped", got[iid(2)].State)
	require.Equal(t, "not-applicable", got[iid(2)].InstanceStatus, "IncludeAllInstances must report stopped instances")
	require.Equal(t, "impaired", got[iid(3)].InstanceStatus)
	require.Equal(t, "ok", got[iid(3)].SystemStatus)
	require.Equal(t, "core3", got[iid(3)].Tags["Name"])
	j := e.sim.Journal()
	di := calls(j, "DescribeInstances")
	require.Len(t, di, 1, "one filtered describe; the missing id is simply absent")
	require.Equal(t, "instance-id", di[0].Params.Get("Filter.1.Name"))
	ds := calls(j, "DescribeInstanceStatus")
	require.Len(t, ds, 1, "status asked only for the instances found")
	require.Equal(t, "true", ds[0].Params.Get("IncludeAllInstances"))
}

// TestScheduledEvents: the events EC2 announces on an instance come with its
// status; completed and canceled ones are over and left out.
func TestScheduledEvents(t *testing.T) {
	e := newEnv(t, fleetSeed(2, 0), nil, nil)
	at := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	require.NoError(t, e.sim.ScheduleEvent(iid(1), ec2sim.ScheduledEvent{Code: "instance-retirement",
		Description: "The instance is running on degraded hardware", NotBefore: at, NotAfter: at.Add(2 * time.Hour)}))
	require.NoError(t, e.sim.ScheduleEvent(iid(1), ec2sim.ScheduledEvent{Code: "system-reboot",
		Description: "[Completed] Scheduled reboot", NotBefore: at.Add(-48 * time.Hour)}))
	insts, err := e.c.Instances(testCtx(t, 5*time.Second), []string{iid(1), iid(2)})
	require.NoError(t, err)
	require.Equal(t, []ScheduledEvent{{Code: "instance-retirement", Description: "The instance is running on degraded hardware",
		NotBefore: at, NotAfter: at.Add(2 * time.Hour)}}, insts[iid(1)].Events)
	require.Empty(t, insts[iid(2)].Events)
}
