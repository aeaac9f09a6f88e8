package ec2sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

// withBuckets turns the buckets on (with the fake clock of withFakeClock).
func withBuckets(load float64, every time.Duration) envOpt {
	return func(o *Options) {
		o.Throttling = &Throttling{Enabled: true, BackgroundLoad: load, SampleEvery: every}
	}
}

// burst posts form n times and counts the answers that were not throttled
// and those that were (503 RequestLimitExceeded).
func (e *env) burst(form url.Values, n int) (passed, throttled int) {
	e.t.Helper()
	for range n {
		resp, body := e.post(form)
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, "<Code>RequestLimitExceeded</Code>") {
			throttled++
			continue
		}
		passed++
	}
	return passed, throttled
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// dryDetach is a DetachVolume that changes nothing but takes a token.
var dryDetach = form("Action", "DetachVolume", "VolumeId", v1, "DryRun", "true")

func TestBucketCapacityAndRefill(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0, 0))
	passed, throttled := e.burst(dryDetach, 51)
	require.Equal(t, 50, passed, "a full mutating bucket holds 50 tokens")
	require.Equal(t, 1, throttled)

	e.clk.Step(time.Second)
	passed, throttled = e.burst(dryDetach, 6)
	require.Equal(t, 5, passed, "one second refills 5 tokens")
	require.Equal(t, 1, throttled)

	e.clk.Step(100 * time.Second)
	passed, _ = e.burst(dryDetach, 51)
	require.Equal(t, 50, passed, "a bucket never holds more than its maximum")

	e.clk.Step(200 * time.Millisecond)
	passed, _ = e.burst(dryDetach, 2)
	require.Equal(t, 1, passed, "the refill is continuous: 0.2 s gives one token")
}

func TestBucketCategories(t *testing.T) {
	for _, tc := range []struct {
		name     string
		form     url.Values
		capacity int
	}{
		{"describe volumes unfiltered", form("Action", "DescribeVolumes"), 50},
		{"describe volumes by ID is still unfiltered", form("Action", "DescribeVolumes", "VolumeId.1", v1), 50},
		{"describe volumes filtered", form("Action", "DescribeVolumes", "Filter.1.Name", "tag-key", "Filter.1.Value.1", "cluster"), 100},
		{"describe volumes paginated", form("Action", "DescribeVolumes", "MaxResults", "5"), 100},
		{"describe instances unfiltered", form("Action", "DescribeInstances"), 50},
		{"describe instances filtered", form("Action", "DescribeInstances", "Filter.1.Name", "instance-state-name", "Filter.1.Value.1", "running"), 100},
		{"describe instance status unfiltered", form("Action", "DescribeInstanceStatus"), 50},
		{"describe instance status paginated", form("Action", "DescribeInstanceStatus", "MaxResults", "5"), 100},
		{"attach volume", form("Action", "AttachVolume", "VolumeId", v2, "InstanceId", i2, "Device", "/dev/sdg", "DryRun", "true"), 50},
		{"detach volume", dryDetach, 50},
		{"stop instances", form("Action", "StopInstances", "InstanceId.1", i2, "DryRun", "true"), 50},
		{"create tags (uncategorized)", form("Action", "CreateTags", "ResourceId.1", v1, "Tag.1.Key", "k", "Tag.1.Value", "v", "DryRun", "true"), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0, 0))
			passed, throttled := e.burst(tc.form, tc.capacity+1)
			require.Equal(t, tc.capacity, passed, "requests let through by a full bucket")
			require.Equal(t, 1, throttled)
		})
	}
}

func TestBucketsAreIndependent(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0, 0))
	_, throttled := e.burst(dryDetach, 51)
	require.Equal(t, 1, throttled, "DetachVolume's bucket is empty")
	passed, _ := e.burst(form("Action", "AttachVolume", "VolumeId", v2, "InstanceId", i2, "Device", "/dev/sdg", "DryRun", "true"), 50)
	require.Equal(t, 50, passed, "AttachVolume has a bucket of its own")

	_, throttled = e.burst(form("Action", "DescribeVolumes"), 51)
	require.Equal(t, 1, throttled, "the unfiltered DescribeVolumes bucket is empty")
	passed, _ = e.burst(form("Action", "DescribeVolumes", "MaxResults", "5"), 100)
	require.Equal(t, 100, passed, "a paginated DescribeVolumes takes from the larger bucket")

	limits := e.sim.BucketLimits()
	require.Equal(t, LimitMutating, limits["DetachVolume"])
	require.Equal(t, LimitUnfiltered, limits["DescribeVolumes"+UnfilteredSuffix])
	require.Equal(t, LimitNonMutating, limits["DescribeVolumes"])
}

func TestStopInstancesResourceBucket(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0, 0))
	stop600 := form("Action", "StopInstances")
	for i := range 600 {
		stop600.Set(fmt.Sprintf("InstanceId.%d", i+1), instID(0x100000+i))
	}
	passed, throttled := e.burst(stop600, 2)
	require.Equal(t, 1, passed, "600 instances fit in 1000 resource tokens once")
	require.Equal(t, 1, throttled, "400 resource tokens left do not cover 600 instances")
	require.Equal(t, "StopInstances"+ResourcesSuffix, e.sim.Throttled()[0].Bucket)

	e.clk.Step(10 * time.Second) // +200 resource tokens, request bucket full again
	passed, _ = e.burst(stop600, 1)
	require.Equal(t, 1, passed, "600 resource tokens after 10 s at 20/s")
}

func TestBackgroundLoad(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0.5, 0))
	passed, _ := e.burst(dryDetach, 26)
	require.Equal(t, 25, passed, "half of the 50 tokens are left to other tools")
	e.clk.Step(2 * time.Second)
	passed, _ = e.burst(dryDetach, 6)
	require.Equal(t, 5, passed, "half of the refill of 5/s")
	require.Equal(t, BucketLimit{Capacity: 25, Refill: 2.5}, e.sim.BucketLimits()["DetachVolume"])
}

// TestThrottledWireShape checks the answer through the real SDK client, and
// that every attempt of one call carries the same invocation ID.
func TestThrottledWireShape(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0, 0))
	_, _ = e.burst(dryDetach, 50)

	_, err := e.detach(v1, false)
	code, status := apiCode(t, err)
	require.Equal(t, "RequestLimitExceeded", code)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, err.Error(), "has been throttled on ec2:DetachVolume")
	require.Equal(t, "RequestLimitExceeded", e.lastCall().Code)

	e.sim.ResetJournal()
	require.Empty(t, e.sim.Throttled(), "ResetJournal forgets refusals")
	_, err = e.client(retrying(3)).DetachVolume(ctx(t), &ec2.DetachVolumeInput{VolumeId: aws.String(v1)})
	code, _ = apiCode(t, err)
	require.Equal(t, "RequestLimitExceeded", code, "the clock stands still, so every retry is throttled")
	th := e.sim.Throttled()
	require.Len(t, th, 3, "three attempts")
	for i, c := range th {
		require.Equal(t, i+1, c.Attempt)
		require.Equal(t, "DetachVolume", c.Bucket)
		require.NotEmpty(t, c.InvocationID)
		require.Equal(t, th[0].InvocationID, c.InvocationID, "one SDK call, one invocation ID")
	}
	for _, c := range e.sim.Journal() {
		require.Equal(t, th[0].InvocationID, c.InvocationID, "the journal carries the invocation ID")
	}
}

func TestTokenSamples(t *testing.T) {
	e := newEnv(t, worldSeed(), withFakeClock(fixedLatencies), withBuckets(0, time.Second))
	_, _ = e.burst(dryDetach, 50)
	e.clk.Step(3 * time.Second)
	var got []float64
	for _, s := range e.sim.TokenSamples() {
		if s.Bucket == "DetachVolume" {
			got = append(got, s.Tokens)
		}
	}
	require.Equal(t, []float64{5, 10, 15}, got, "one sample a second while the bucket refills")
}

func TestThrottlingConfig(t *testing.T) {
	require.True(t, ProfileThrottling(ProfileAWSTypical).Enabled, "aws-typical has buckets by default")
	require.False(t, ProfileThrottling(ProfileInstant).Enabled, "instant has none by default")
	for _, tc := range []struct {
		mode    string
		profile Profile
		load    float64
		enabled bool
		err     string
	}{
		{"", ProfileAWSTypical, 0.5, true, ""},
		{"off", ProfileAWSTypical, 0, false, ""},
		{"on", ProfileInstant, 0, true, ""},
		{"", ProfileInstant, 0.5, false, "buckets are off"},
		{"maybe", ProfileInstant, 0, false, `buckets "maybe"`},
		{"on", ProfileInstant, 1, false, "want 0 <= load < 1"},
		{"on", ProfileInstant, -0.1, false, "want 0 <= load < 1"},
	} {
		got, err := ThrottlingFor(tc.profile, tc.mode, tc.load)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "mode %q load %v", tc.mode, tc.load)
			continue
		}
		require.NoError(t, err, "mode %q load %v", tc.mode, tc.load)
		require.Equal(t, tc.enabled, got.Enabled, "mode %q", tc.mode)
		require.Equal(t, tc.load, got.BackgroundLoad)
	}
	_, err := New(Options{Throttling: &Throttling{Enabled: true, BackgroundLoad: 2}})
	require.ErrorContains(t, err, "background load 2")
}
