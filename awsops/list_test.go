package awsops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// hostsSeed seeds n running instances alternating between two zones;
// tag, when not nil, gives instance k its tags.
func hostsSeed(n int, tag func(k int) map[string]string) *ec2sim.Seed {
	s := &ec2sim.Seed{}
	for k := 1; k <= n; k++ {
		az := azA
		if k%2 == 0 {
			az = azB
		}
		in := inst(k, az)
		if tag != nil {
			in.Tags = tag(k)
		}
		s.Instances = append(s.Instances, in)
	}
	return s
}

func iids(from, to int) []string {
	var out []string
	for k := from; k <= to; k++ {
		out = append(out, iid(k))
	}
	return out
}

// idParams counts the InstanceId.N parameters of a call.
func idParams(c ec2sim.Call) int {
	n := 0
	for k := range c.Params {
		if strings.HasPrefix(k, "InstanceId.") {
			n++
		}
	}
	return n
}

// The scale benchmark's 1,301 hosts: by ID they cost 3 + 14 calls, listed
// 2 + 2, and the answer is the same.
func TestInstancesListsLargeSets(t *testing.T) {
	const hosts, others = 1300, 40
	seed := hostsSeed(hosts+others, nil)
	seed.Instances[4].State = "stopped"
	e := newEnv(t, seed, nil, nil)
	require.NoError(t, e.sim.SetInstanceStatus(iid(3), "impaired", "ok"))
	ctx := testCtx(t, 15*time.Second)
	ask := append(iids(1, hosts), iid(99999), iid(99998), "i-bad", iid(7))

	byID, err := e.c.instancesWithStatus(ctx, cleanIDs(ask, instanceIDRE))
	require.NoError(t, err)
	j := e.sim.Journal()
	beforeI, beforeS := len(calls(j, "DescribeInstances")), len(calls(j, "DescribeInstanceStatus"))
	e.sim.ResetJournal()

	got, err := e.c.Instances(ctx, ask)
	require.NoError(t, err)
	j = e.sim.Journal()
	di, ds := calls(j, "DescribeInstances"), calls(j, "DescribeInstanceStatus")
	t.Logf("Instances over %d of %d hosts: by ID %d calls (DescribeInstances %d, DescribeInstanceStatus %d); listed %d calls (DescribeInstances %d, DescribeInstanceStatus %d)",
		hosts, hosts+others, beforeI+beforeS, beforeI, beforeS, len(j), len(di), len(ds))

	require.Equal(t, byID, got, "listing must answer exactly what asking by ID answers")
	require.Len(t, got, hosts, "only the asked-for instances that exist")
	require.NotContains(t, got, iid(hosts+1), "an instance not asked for is dropped")
	require.NotContains(t, got, iid(99999), "a missing ID stays absent")
	require.Equal(t, "stopped", got[iid(5)].State)
	require.Equal(t, "not-applicable", got[iid(5)].InstanceStatus, "IncludeAllInstances must report stopped instances")
	require.Equal(t, "impaired", got[iid(3)].InstanceStatus)
	require.Equal(t, "ok", got[iid(3)].SystemStatus)

	require.Len(t, di, 2, "DescribeInstances pages")
	require.Len(t, ds, 2, "DescribeInstanceStatus pages")
	for _, c := range append(di, ds...) {
		require.Zero(t, idParams(c), "%s must list, not name IDs", c.Action)
		require.Equal(t, fmt.Sprint(pageSize), c.Params.Get("MaxResults"), c.Action)
		require.Empty(t, c.Code, "%s failed", c.Action)
	}
	require.Empty(t, di[0].Params.Get("Filter.1.Name"), "no tag scope by default")
	require.Equal(t, "true", ds[0].Params.Get("IncludeAllInstances"))
	require.Equal(t, "availability-zone", ds[0].Params.Get("Filter.1.Name"))
	require.ElementsMatch(t, []string{azA, azB}, []string{ds[0].Params.Get("Filter.1.Value.1"), ds[0].Params.Get("Filter.1.Value.2")})
	require.NotEmpty(t, di[1].Params.Get("NextToken"), "second page must carry the token")
	require.NotEmpty(t, ds[1].Params.Get("NextToken"), "second page must carry the token")
	require.Less(t, len(j), beforeI+beforeS)
}

func TestInstancesListThresholdAndScope(t *testing.T) {
	cluster := func(k int) map[string]string {
		switch k % 3 {
		case 0:
			return map[string]string{DefaultInstanceTagKey: "c1"}
		case 1:
			return map[string]string{DefaultInstanceTagKey: "c2"}
		}
		return map[string]string{"Name": "other"}
	}
	const hosts = 300
	for _, tc := range []struct {
		name       string
		ask        int
		key, value string
		wantFound  func(k int) bool
		wantFilter [2]string // name, value of Filter.1 on DescribeInstances
		wantListed bool
	}{
		{"at the threshold: by ID", instanceListThreshold, "", "", func(int) bool { return true }, [2]string{"instance-id", iid(1)}, false},
		{"above the threshold: listed", instanceListThreshold + 1, "", "", func(int) bool { return true }, [2]string{}, true},
		{"by ID ignores the tag scope", 10, DefaultInstanceTagKey, "c1", func(int) bool { return true }, [2]string{"instance-id", iid(1)}, false},
		{"scoped by tag key", hosts, DefaultInstanceTagKey, "", func(k int) bool { return k%3 != 2 },
			[2]string{"tag-key", DefaultInstanceTagKey}, true},
		{"scoped by tag key and value", hosts, DefaultInstanceTagKey, "c1", func(k int) bool { return k%3 == 0 },
			[2]string{"tag:" + DefaultInstanceTagKey, "c1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, hostsSeed(hosts, cluster), nil, func(o *Options) {
				o.InstanceTagKey, o.InstanceTagValue = tc.key, tc.value
			})
			got, err := e.c.Instances(testCtx(t, 10*time.Second), iids(1, tc.ask))
			require.NoError(t, err)
			want := 0
			for k := 1; k <= tc.ask; k++ {
				if tc.wantFound(k) {
					want++
					require.Contains(t, got, iid(k))
					require.Equal(t, "ok", got[iid(k)].InstanceStatus, "instance %s has its status", iid(k))
				}
			}
			require.Len(t, got, want)
			di := calls(e.sim.Journal(), "DescribeInstances")
			require.NotEmpty(t, di)
			require.Equal(t, tc.wantListed, di[0].Params.Has("MaxResults"), "listed or by ID")
			require.Equal(t, tc.wantFilter[0], di[0].Params.Get("Filter.1.Name"))
			require.Equal(t, tc.wantFilter[1], di[0].Params.Get("Filter.1.Value.1"))
		})
	}
}

// Nothing found by the listing: no status call, an empty map.
func TestInstancesListNoneFound(t *testing.T) {
	e := newEnv(t, hostsSeed(3, nil), nil, nil)
	got, err := e.c.Instances(testCtx(t, 5*time.Second), iids(1000, 1000+instanceListThreshold))
	require.NoError(t, err)
	require.Empty(t, got)
	require.Len(t, calls(e.sim.Journal(), "DescribeInstances"), 1)
	require.Empty(t, calls(e.sim.Journal(), "DescribeInstanceStatus"))
}

// A failed page fails the read and says what was listed.
func TestInstancesListError(t *testing.T) {
	e := newEnv(t, hostsSeed(3, nil), nil, func(o *Options) { o.InstanceTagKey = DefaultInstanceTagKey })
	e.sim.Arm(ec2sim.Fault{Kind: ec2sim.FaultUnauthorized, Action: "DescribeInstances", Sticky: true})
	_, err := e.c.Instances(testCtx(t, 5*time.Second), iids(1, instanceListThreshold+1))
	require.ErrorIs(t, err, ErrUnauthorized)
	require.ErrorContains(t, err, "list instances (tag volfailover:cluster) for 201 ids: page 1")
}
