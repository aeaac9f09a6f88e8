package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdOnly starts just the etcd cluster of a sandbox, with this test binary
// as the members' command (TestMain dispatches exec-etcd).
func etcdOnly(t *testing.T) (*Sandbox, *clientv3.Client) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err, "test binary path")
	dir, err := os.MkdirTemp("", "volfailover-etcdcluster-")
	require.NoError(t, err)
	s := &Sandbox{log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		fw: newFirewall(fmt.Sprintf("volfailover-sandbox-test-%d", os.Getpid()))}
	// A subnet away from the sandboxes the tests start (2 + pid%250).
	s.etcd = newEtcdMembers(dir, 253-os.Getpid()%2, self, s.log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, s.fw.clear(ctx), "remove the test's rules")
		for _, m := range s.etcd {
			require.NoError(t, m.close(ctx), "stop %s", m.Name)
		}
		if t.Failed() {
			t.Logf("etcd logs kept in %s", filepath.Join(dir, "logs"))
			return
		}
		require.NoError(t, os.RemoveAll(dir))
	})
	require.NoError(t, startEtcdCluster(ctx, s.etcd), "start the cluster (logs in %s)", filepath.Join(dir, "logs"))
	cli, err := clientv3.New(clientv3.Config{Endpoints: s.EtcdEndpoints(), DialTimeout: 2 * time.Second,
		DialKeepAliveTime: 5 * time.Second, DialKeepAliveTimeout: time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	return s, cli
}

func TestEtcdClusterMemberFaults(t *testing.T) {
	s, cli := etcdOnly(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A proposal made while the cluster has no leader is dropped and times
	// out; a client tries again, as the controller does.
	put := func(what string) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, err = cli.Put(pctx, "/test/"+what, what)
			cancel()
			if err == nil {
				return
			}
		}
		require.NoError(t, err, "put through the cluster %s, tried for 20s", what)
	}
	put("at start")

	leader, err := s.EtcdLeader(ctx)
	require.NoError(t, err)
	require.NoError(t, s.KillEtcdMember(ctx, leader), "SIGKILL the leader")
	put("with the leader killed")
	require.NoError(t, s.RestartEtcdMember(ctx, leader), "restart the killed leader on its data dir")

	from, err := s.EtcdLeader(ctx)
	require.NoError(t, err)
	to := "etcd1"
	if from == to {
		to = "etcd2"
	}
	moved, err := s.MoveEtcdLeader(ctx, to)
	require.NoError(t, err, "move the leadership from %s to %s", from, to)
	require.Equal(t, from, moved)
	require.Eventually(t, func() bool { l, err := s.EtcdLeader(ctx); return err == nil && l == to }, 10*time.Second, 50*time.Millisecond,
		"waiting for %s to lead", to)
	put("after the move")

	// A partitioned leader is cut off both ways: the other two elect
	// another, which they would not while its heartbeats still reached them.
	cut, err := s.EtcdLeader(ctx)
	require.NoError(t, err)
	err = s.PartitionEtcdMember(ctx, cut)
	if errors.Is(err, ErrPartitionUnsupported) {
		t.Logf("member partition not tested: %v", err)
	} else {
		require.NoError(t, err, "partition leader %s", cut)
		require.Eventually(t, func() bool {
			for _, m := range s.etcd {
				if m.Name == cut {
					continue
				}
				st, err := memberStatus(ctx, m)
				if err != nil || st.Leader == 0 {
					return false
				}
				if id, ok := s.memberID(ctx, m); ok && st.Leader == id {
					return true
				}
			}
			return false
		}, 15*time.Second, 100*time.Millisecond, "waiting for the members other than %s to elect one of theirs", cut)
		require.Error(t, s.etcd[memberIndex(cut)].healthy(ctx), "partitioned %s must not answer", cut)
		put("with the leader partitioned")
		require.NoError(t, s.HealEtcdMember(ctx, cut))
		require.NoError(t, waitHealthy(ctx, s.etcd...), "every member healthy after the heal")
	}

	// A stalled member's fsyncs take at least the delay, seen directly and
	// in etcd's own wal_fsync histogram.
	const delay = 300 * time.Millisecond
	slow := s.etcd[2]
	err = s.StallEtcdMember(ctx, slow.Name, delay)
	if errors.Is(err, ErrStallUnsupported) {
		t.Logf("fsync stall not tested: %v", err)
	} else {
		require.NoError(t, err)
		took := fsyncTime(t, filepath.Join(filepath.Dir(slow.walDir), "probe"))
		require.GreaterOrEqual(t, took, delay, "an fsync on the stalled mount returned after %s", took)
		n0, sum0 := walFsync(t, slow)
		put("with a member's fsync stalled")
		require.Eventually(t, func() bool { n, _ := walFsync(t, slow); return n > n0 }, 10*time.Second, 100*time.Millisecond,
			"waiting for %s to fsync its WAL", slow.Name)
		n1, sum1 := walFsync(t, slow)
		mean := time.Duration((sum1 - sum0) / float64(n1-n0) * float64(time.Second))
		t.Logf("stalled %s: direct fsync %s; WAL fsyncs during the stall: %d, mean %s", slow.Name, took, int(n1-n0), mean)
		require.GreaterOrEqual(t, mean, delay, "etcd's own wal_fsync mean under a %s stall", delay)
		require.NoError(t, s.UnstallEtcdMember(ctx, slow.Name))
		took = fsyncTime(t, filepath.Join(filepath.Dir(slow.walDir), "probe"))
		require.Less(t, took, delay, "an fsync after the stall took %s", took)
		t.Logf("fsync on %s after the stall: %s", slow.Name, took)
	}

	got := map[string]bool{}
	for _, f := range s.Faults() {
		got[f.Kind] = !f.To.IsZero()
	}
	want := map[string]bool{FaultMemberKill: true, FaultLeaderMove: true}
	if s.fw.check(ctx) == nil {
		want[FaultMemberPartition] = true
	}
	if slow.slow != nil {
		want[FaultMemberStall] = true
	}
	require.Equal(t, want, got, "closed fault windows, by kind")
}

func memberIndex(name string) int {
	var i int
	_, _ = fmt.Sscanf(name, "etcd%d", &i)
	return i - 1
}

// fsyncTime writes a byte to path and times its fsync.
func fsyncTime(t *testing.T, path string) time.Duration {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write([]byte{1})
	require.NoError(t, err)
	began := time.Now()
	require.NoError(t, f.Sync(), "fsync %s", path)
	return time.Since(began)
}

// walFsync reads etcd_disk_wal_fsync_duration_seconds' count and sum from
// a member's /metrics.
func walFsync(t *testing.T, m *etcdMember) (count, sum float64) {
	t.Helper()
	resp, err := memberHealthClient.Get(m.Endpoint + "/metrics")
	require.NoError(t, err, "metrics of %s", m.Name)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, line := range strings.Split(string(body), "\n") {
		var v float64
		if _, err := fmt.Sscanf(line, "etcd_disk_wal_fsync_duration_seconds_count %g", &v); err == nil {
			count = v
		}
		if _, err := fmt.Sscanf(line, "etcd_disk_wal_fsync_duration_seconds_sum %g", &v); err == nil {
			sum = v
		}
	}
	require.Positive(t, count, "%s's /metrics has no etcd_disk_wal_fsync_duration_seconds", m.Name)
	return count, sum
}
