package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// volfailoverBin builds cmd/volfailover once per test binary, or uses
// $BENCH_VOLFAILOVER_BIN.
func volfailoverBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("BENCH_VOLFAILOVER_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "volfailover")
	cmd := exec.Command("go", "build", "-o", out, "github.com/volfailover/volfailover/cmd/volfailover")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build volfailover: %s", b)
	return out
}

func TestScaleHarnessTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := RunScale(ctx, ScaleConfig{
		Dir: t.TempDir(), VolfailoverBin: volfailoverBin(t), Volumes: 6, Outage: 1,
		Profile: ec2sim.ProfileInstant, Throttle: true, Buckets: ec2sim.BucketsOn, BackgroundLoad: 0.5, WarmUp: time.Second, Window: 3 * time.Second,
		OutageTimeout: 40 * time.Second, SessionTTL: 3 * time.Second, Net: 23,
	})
	require.NoError(t, err)
	require.Equal(t, 6, res.Volumes)
	require.GreaterOrEqual(t, res.Steady.Rounds, 2, "rounds seen in the steady window")
	require.Positive(t, res.Steady.EC2CallsPerRound, "EC2 calls per round")
	require.Equal(t, res.Steady.Rounds, res.Steady.RoundDuration.N, "every round measured")
	require.GreaterOrEqual(t, res.Steady.RoundDuration.P50ms, res.Steady.ReadPhase.P50ms, "a round lasts at least its reads")
	require.NotEmpty(t, res.Steady.Budget, "EC2 calls per bucket")
	require.Zero(t, res.Steady.Mutations, "mutations in steady state")
	require.NotNil(t, res.Outage)
	require.True(t, res.Outage.Completed, "every doomed volume served again: %+v", res.Outage)
	require.LessOrEqual(t, res.Outage.MaxAttachments, 1, "a volume attached twice")
	require.Positive(t, res.Outage.Throttled, "throttled calls counted")
	require.Positive(t, res.Outage.MostThrottlesPerCall, "throttles per call counted")
	require.True(t, res.Outage.Buckets, "token buckets on")
	require.Equal(t, 1, res.Outage.Floor.Volumes, "paper floor of the one volume")
	require.Len(t, res.Outage.ServedS, 1, "served curve")
	require.NotEmpty(t, res.Outage.Tokens, "tokens left per bucket")
	require.Positive(t, res.LeaderPeakRSSMiB, "leader peak RSS read")
}
