package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPatroniSettingsValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       PatroniSettings
		wantErr string
	}{
		{name: "defaults", s: PatroniSettings{TTL: 30, LoopWait: 10, RetryTimeout: 10}},
		{name: "issue 16's tuned values sit exactly on the rule", s: PatroniSettings{TTL: 10, LoopWait: 2, RetryTimeout: 4}},
		{name: "documented minimum ttl", s: PatroniSettings{TTL: 20, LoopWait: 1, RetryTimeout: 9}},
		{name: "rule broken", s: PatroniSettings{TTL: 10, LoopWait: 3, RetryTimeout: 4}, wantErr: "loop_wait 3 + 2 × retry_timeout 4 = 11 exceeds ttl 10"},
		{name: "zero", s: PatroniSettings{TTL: 10, LoopWait: 0, RetryTimeout: 4}, wantErr: "positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestPatroniConfig(t *testing.T) {
	cfg := patroniConfig(patroniNode{Scope: "bench", Name: "node2", Addr: "127.0.3.2", DataDir: "/w/node2/data", SocketDir: "/w/node2/run",
		BinDir: pgBinDir, Etcd: "127.0.3.100:2379", RESTPort: 8008, PGPort: 5432}, PatroniSettings{TTL: 10, LoopWait: 2, RetryTimeout: 4})
	for _, want := range []string{
		"name: node2\n",
		"restapi:\n  listen: 127.0.3.2:8008\n  connect_address: 127.0.3.2:8008\n",
		"etcd3:\n  hosts: 127.0.3.100:2379\n",
		"    ttl: 10\n    loop_wait: 2\n    retry_timeout: 4\n",
		"      use_pg_rewind: true\n",
		"  listen: 127.0.3.2:5432\n",
		"  data_dir: /w/node2/data\n  bin_dir: /usr/lib/postgresql/15/bin\n  pgpass: /w/node2/pgpass\n",
		"    unix_socket_directories: '/w/node2/run'\n",
	} {
		require.Contains(t, cfg, want)
	}
	require.NotContains(t, cfg, "\t", "YAML indents with spaces only")
}

func TestPGAFSettings(t *testing.T) {
	require.NoError(t, PGAFDefaults.Validate())
	require.NoError(t, PGAFTuned.Validate())
	bad := PGAFTuned
	bad.NetworkPartitionS = 5
	require.ErrorContains(t, bad.Validate(), "network_partition_timeout 5 s must end before primary_demote_timeout 5000 ms")
	bad = PGAFDefaults
	bad.HealthCheckPeriodMs = 0
	require.ErrorContains(t, bad.Validate(), "health_check_period 0")

	require.Equal(t, "health_check_period 5 s, health_check_timeout 5 s, health_check_max_retries 2, health_check_retry_delay 2 s, "+
		"node_considered_unhealthy_timeout 20 s, primary_demote_timeout 30 s, network_partition_timeout 20 s", settingsText(PGAFDefaults.Settings()))
	sql := PGAFTuned.monitorSQL()
	require.Contains(t, sql, "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 5000")
	require.Equal(t, "SELECT pg_reload_conf()", sql[len(sql)-1], "the monitor reloads after the settings")
}

func TestFormationURI(t *testing.T) {
	require.Equal(t, "postgres://127.0.3.12:5432,127.0.3.13:5432/postgres?target_session_attrs=read-write&sslmode=disable&user=postgres&connect_timeout=2",
		formationURI("postgres://127.0.3.12:5432,127.0.3.13:5432/postgres?target_session_attrs=read-write&sslmode=disable"))
	require.Equal(t, "postgres://h:5432/db?user=postgres&connect_timeout=2", formationURI("postgres://h:5432/db"))
}

func TestZombie(t *testing.T) {
	require.True(t, zombie([]byte("123 (postgres: walwriter) Z 1 2 3")))
	require.False(t, zombie([]byte("123 (a) b) S 1 2 3")), "the name may hold a parenthesis; the state follows the last one")
	require.False(t, zombie([]byte("garbage")))
}

func peerRow(tool, label string, p50s ...float64) PeerRow {
	r := PeerRow{Tool: tool, Label: label}
	for _, v := range p50s {
		r.Runs = append(r.Runs, PeerRun{RecoveryMs: v, AckedRows: 100, LostRows: 1})
	}
	summarizeRow(&r)
	return r
}

func TestPeerRatios(t *testing.T) {
	pr := &PeersResult{Rows: []PeerRow{
		peerRow("volfailover", "instant", 1000, 1100, 1200),
		peerRow("volfailover", "aws-typical", 8000, 9000, 10000),
		peerRow("Patroni", "defaults", 20000, 22000, 24000),
		peerRow("Patroni", "tuned", 9000, 10000, 11000),
		{Tool: "pg_auto_failover", Label: "defaults", Error: "pg_autoctl: not found"},
	}}
	base := pr.Row("volfailover", "aws-typical")
	require.Equal(t, 9000.0, base.Recovery.P50ms)
	require.Equal(t, 300, base.Acked)
	require.Equal(t, 3, base.Lost)
	got := pr.Ratios(base)
	require.Len(t, got, 2, "volfailover's own rows and rows without runs give no ratio")
	require.Equal(t, "Patroni defaults", got[0].Peer)
	require.InDelta(t, 9000.0/22000, got[0].Ratio, 1e-9)
	require.InDelta(t, 0.9, got[1].Ratio, 1e-9)
	require.Nil(t, pr.Ratios(&PeerRow{Tool: "volfailover"}), "no runs, no ratios")
}

func TestVolfailoverRow(t *testing.T) {
	x := &RecoveryResult{Profile: "aws-typical", Runs: []RecoveryRun{{From: "a", To: "b", RecoveryMs: 9000, AckedRows: 50}, {RecoveryMs: 8000, AckedRows: 40, LostRows: 0}}}
	r := VolfailoverRow(x, "v1")
	require.Equal(t, "aws-typical", r.Label)
	require.Equal(t, 2, r.Recovery.N)
	require.Equal(t, 90, r.Acked)
	require.Equal(t, "b", r.Runs[0].To)
}

func TestRenderPeers(t *testing.T) {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	pr := &PeersResult{Measured: time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC), Commit: "abc123", Rows: []PeerRow{
		peerRow("volfailover", "aws-typical", 9000),
		peerRow("Patroni", "tuned", 10000),
		{Tool: "pg_auto_failover", Label: "tuned", Settings: PGAFTuned.Settings(), Error: "start: pg_autoctl create monitor: exit status 1"},
	}}
	pr.Rows[1].Settings = PatroniSettings{TTL: 20, LoopWait: 1, RetryTimeout: 9}.Settings()
	renderPeers(p, &Results{Peers: pr})
	out := b.String()
	require.Contains(t, out, "Measured 2026-11-30 13:00 UTC, last at commit `abc123`")
	require.Contains(t, out, "| Patroni tuned | ttl 20 s, loop_wait 1 s, retry_timeout 9 s |  | 1 | 10.00 s | 10.00 s | 10.00 s | 1 / 100 |")
	require.Contains(t, out, "| pg_auto_failover tuned | health_check_period 1 s")
	require.Contains(t, out, "**could not run**")
	require.Contains(t, out, "start: pg_autoctl create monitor: exit status 1", "the exact error is on the page")
	require.Contains(t, out, "| Patroni tuned | 0.90 |")
	require.Contains(t, out, "Kubernetes, StatefulSet pod (how Postgres usually runs) (quoted) | never, without intervention")
	require.Contains(t, out, "https://github.com/sorintlab/stolon/blob/master/doc/cluster_spec.md")
}

func TestPeersMerge(t *testing.T) {
	old := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	pr := &PeersResult{Measured: old, Commit: "c1", Rows: []PeerRow{
		peerRow("pg_auto_failover", "defaults"),
		peerRow("Patroni", "defaults", 20000),
		peerRow("volfailover", "aws-typical", 9000),
	}}
	pr.Rows[0].Error = "start: failed"
	fresh := peerRow("pg_auto_failover", "defaults", 30000)
	fresh.Measured, fresh.Commit = old.Add(time.Hour), "c2"
	pr.Merge([]PeerRow{fresh})
	require.Len(t, pr.Rows, 3, "a row of the same tool and label is replaced, not added")
	require.Equal(t, []string{"volfailover", "Patroni", "pg_auto_failover"}, []string{pr.Rows[0].Tool, pr.Rows[1].Tool, pr.Rows[2].Tool}, "table order")
	require.Empty(t, pr.Rows[2].Error)
	require.Equal(t, old, pr.Rows[1].Measured, "kept rows keep the old run's date")
	require.Equal(t, "c1", pr.Rows[1].Commit)
	require.Equal(t, old.Add(time.Hour), pr.Measured, "the result's date is its newest row's")
	require.Equal(t, "c2", pr.Commit)
}

func TestErrorLines(t *testing.T) {
	out := "12:01 INFO starting\n12:01 ERROR Please use either --auth or --skip-pg-hba\nusage: pg_autoctl create monitor\n  --pgctl path"
	require.Equal(t, "12:01 ERROR Please use either --auth or --skip-pg-hba", errorLines(out, 5), "the error line, not the usage text after it")
	require.Equal(t, "usage: pg_autoctl create monitor\n  --pgctl path", errorLines("usage: pg_autoctl create monitor\n  --pgctl path\n", 2), "without an error line, the tail")
}
