package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/sandbox"
)

// sandboxDir makes a directory the postgres user can traverse (t.TempDir is 0700).
func sandboxDir(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sandbox.DefaultPostgresBin, "postgres")); err != nil {
		t.Skipf("PostgreSQL 15 not installed: %v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "volfailover-bench-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestRecoveryHarnessOneRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunRecovery(ctx, SandboxConfig{Dir: sandboxDir(t), VolfailoverBin: volfailoverBin(t), Profile: ec2sim.ProfileInstant, Hosts: 3, Subnet: 57}, 1)
	require.NoError(t, err)
	require.Len(t, res.Runs, 1)
	run := res.Runs[0]
	require.NotEqual(t, run.From, run.To, "the volume moved")
	require.Positive(t, run.RecoveryMs, "recovery measured")
	require.Positive(t, run.AckedRows, "the writer committed rows")
	require.Zero(t, run.LostRows, "acknowledged rows lost")
	for _, ph := range []string{"detection", "fence", "detach", "attach", "metadata", "reschedule", "postgres start"} {
		require.Contains(t, run.PhasesMs, ph)
	}
	require.Equal(t, 1, res.Recovery.N)
}

func TestTakeoverHarnessOneRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunTakeover(ctx, SandboxConfig{Dir: sandboxDir(t), VolfailoverBin: volfailoverBin(t), Profile: ec2sim.ProfileInstant, Hosts: 3, Subnet: 58}, 1, time.Second)
	require.NoError(t, err)
	require.Len(t, res.Runs, 1)
	require.NotEqual(t, res.Runs[0].OldLeader, res.Runs[0].NewLeader, "leadership moved")
	require.Positive(t, res.Runs[0].FirstRoundMs)
	require.Positive(t, res.IdleFollower.RSSMiB, "idle follower measured")
	require.Equal(t, 3000.0, res.SessionTTLMs)
}
