package bench

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

func TestPaperFloor(t *testing.T) {
	for _, tc := range []struct {
		name          string
		n             int
		load          float64
		profile       ec2sim.Profile
		calls, totalS float64
	}{
		{"300 volumes, full bucket", 300, 0, ec2sim.ProfileAWSTypical, 50, 52},
		{"300 volumes, half the bucket left", 300, 0.5, ec2sim.ProfileAWSTypical, 110, 112},
		{"fewer volumes than tokens", 20, 0, ec2sim.ProfileInstant, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewPaperFloor(tc.n, tc.load, tc.profile)
			require.InDelta(t, tc.calls*1000, f.CallsMs, 0.1, "calls")
			require.InDelta(t, tc.totalS*1000, f.TotalMs, 0.1, "total")
		})
	}
	f := NewPaperFloor(300, 0, ec2sim.ProfileAWSTypical)
	require.Zero(t, f.ServedBy(time.Second), "nothing before the transitions")
	require.Equal(t, 50.0, f.ServedBy(2*time.Second), "the full bucket at once")
	require.Equal(t, 100.0, f.ServedBy(12*time.Second), "then 5 a second")
	require.Equal(t, 300.0, f.ServedBy(time.Hour), "never more than the volumes")
}

func TestThrottlesPerCall(t *testing.T) {
	call := func(id, code string) ec2sim.Call {
		return ec2sim.Call{Action: "DetachVolume", InvocationID: id, Code: code}
	}
	j := []ec2sim.Call{
		call("a", "RequestLimitExceeded"), call("a", "RequestLimitExceeded"), call("a", "RequestLimitExceeded"), call("a", ""),
		call("b", "RequestLimitExceeded"), call("b", ""),
		call("c", ""), call("", "RequestLimitExceeded"),
	}
	most, over := throttlesPerCall(j, 2)
	require.Equal(t, 3, most, "call a was throttled three times")
	require.Equal(t, 1, over, "one call throttled more than twice")
}

func TestTokenSeries(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var samples []ec2sim.TokenSample
	for i := -2; i < 8; i++ {
		samples = append(samples, ec2sim.TokenSample{Time: t0.Add(time.Duration(i) * 500 * time.Millisecond), Bucket: "DetachVolume", Tokens: float64(10 + i)})
	}
	got := tokenSeries(samples, t0)["DetachVolume"]
	require.Equal(t, []Point{{0, 10}, {1, 12}, {2, 14}, {3, 16}}, got, "one point a second from t0 on")
}

func TestBudgetUse(t *testing.T) {
	calls := []ec2sim.Call{
		{Action: "DescribeVolumes", Params: url.Values{"MaxResults": {"500"}}},
		{Action: "DescribeVolumes", Params: url.Values{"MaxResults": {"500"}}},
		{Action: "DescribeInstances", Params: url.Values{"InstanceId.1": {"i-1"}}},
	}
	got := budgetUse(calls, 2*time.Second)
	require.Equal(t, []BucketUse{
		{Bucket: "DescribeInstances/unfiltered", Calls: 1, PerSecond: 0.5, RefillPerSecond: 10, Share: 0.05},
		{Bucket: "DescribeVolumes", Calls: 2, PerSecond: 1, RefillPerSecond: 20, Share: 0.05},
	}, got)
}
