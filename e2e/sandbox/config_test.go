package sandbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
)

// The aws-typical profile must schedule as fleet v1.0.0 does; a test that
// wants speed says so through Config.FleetTiming.
func TestProfileFleetTiming(t *testing.T) {
	d := fleetsim.DefaultOptions()
	real := FleetTiming{
		MachineTTL: 30 * time.Second, EngineInterval: 2 * time.Second, AgentInterval: 5 * time.Second,
		EngineWatchSleep: time.Second, AgentWatchSleep: time.Second,
		StatePollInterval: time.Second, StateRemovalDelay: time.Second,
	}
	tests := []struct {
		name     string
		profile  ec2sim.Profile
		override FleetTiming
		want     FleetTiming
	}{
		{name: "aws-typical is fleet's own timing", profile: ec2sim.ProfileAWSTypical, want: real},
		{
			name: "instant is shortened", profile: ec2sim.ProfileInstant,
			want: FleetTiming{
				MachineTTL: 5 * time.Second, EngineInterval: time.Second, AgentInterval: time.Second,
				EngineWatchSleep: 100 * time.Millisecond, AgentWatchSleep: 100 * time.Millisecond,
				StatePollInterval: time.Second, StateRemovalDelay: time.Second,
			},
		},
		{
			name: "override field by field", profile: ec2sim.ProfileAWSTypical,
			override: FleetTiming{EngineInterval: 200 * time.Millisecond, AgentWatchSleep: 50 * time.Millisecond},
			want: func() FleetTiming {
				w := real
				w.EngineInterval, w.AgentWatchSleep = 200*time.Millisecond, 50*time.Millisecond
				return w
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.override.merge(profileTiming(tc.profile).fleet)
			require.Equal(t, tc.want, got, "fleet timing: got %+v want %+v", got, tc.want)
			o := got.options(fleetsim.Options{})
			require.Equal(t, got.EngineWatchSleep, o.EngineWatchSleep)
			require.Equal(t, got.StateRemovalDelay, o.StateRemovalDelay)
			require.False(t, o.Instant, "no sandbox profile schedules instantly")
		})
	}
	require.Equal(t, d.EngineInterval, real.EngineInterval, "fleetsim's defaults are fleet's")
	require.Equal(t, d.AgentWatchSleep, real.AgentWatchSleep)

	c := DefaultConfig("/tmp/x")
	c.FleetTiming.EngineWatchSleep = -time.Second
	require.ErrorContains(t, c.Validate(), "fleet-timing: EngineWatchSleep -1s must not be negative")
}

func TestConfigBuckets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile ec2sim.Profile
		buckets string
		load    float64
		err     string
	}{
		{"aws-typical default with load", ec2sim.ProfileAWSTypical, "", 0.5, ""},
		{"instant with buckets on", ec2sim.ProfileInstant, ec2sim.BucketsOn, 0.25, ""},
		{"load without buckets", ec2sim.ProfileInstant, "", 0.5, "buckets, background-load: background load 0.5: buckets are off"},
		{"unknown mode", ec2sim.ProfileAWSTypical, "sometimes", 0, `buckets, background-load: buckets "sometimes"`},
		{"load of one", ec2sim.ProfileAWSTypical, "", 1, "want 0 <= load < 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig("/tmp/x")
			c.Profile, c.Buckets, c.BackgroundLoad = tc.profile, tc.buckets, tc.load
			err := c.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
