package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestPauseResumeRoundTrip(t *testing.T) {
	cli := newEtcdClient(t)
	tests := []struct {
		name      string
		args      []string
		key       func(state.Keys) string
		reason    string
		wantUntil *time.Time
	}{
		{"global", []string{"--reason", "etcd maintenance"}, state.Keys.Pause, "etcd maintenance", nil},
		{"global for 90m", []string{"--reason", "etcd maintenance", "--for", "90m"}, state.Keys.Pause, "etcd maintenance", new(at(90 * time.Minute))},
		{"volume", []string{"--volume", volA, "--reason", "restore test"},
			func(k state.Keys) string { return k.VolumePause(volA) }, "restore test", nil},
		{"volume for 1.5s rounds up", []string{"--volume", volA, "--reason", "restore test", "--for", "1500ms"},
			func(k state.Keys) string { return k.VolumePause(volA) }, "restore test", new(at(2 * time.Second))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix(t)
			key := tc.key(state.Keys{Prefix: prefix})
			r := runCLI(t, cliEnv(nil), cmdArgs(prefix, append([]string{"pause"}, tc.args...)...)...)
			require.Equal(t, 0, r.code, "pause: stderr %s", r.stderr)
			require.Contains(t, r.stdout, key)

			resp, err := cli.Get(t.Context(), key)
			require.NoError(t, err)
			require.Len(t, resp.Kvs, 1, "got no value at %s", key)
			p, inForce, err := state.ParsePause(resp.Kvs[0].Value, testNow)
			require.NoError(t, err, "the controller must parse what the CLI wrote")
			require.True(t, inForce)
			require.Equal(t, tc.reason, p.Reason)
			if tc.wantUntil == nil {
				require.Nil(t, p.Until)
			} else {
				require.NotNil(t, p.Until)
				require.True(t, tc.wantUntil.Equal(*p.Until), "until: got %s want %s", p.Until, tc.wantUntil)
			}

			resumeArgs := []string{"resume"}
			if tc.args[0] == "--volume" {
				resumeArgs = append(resumeArgs, "--volume", volA)
			}
			r = runCLI(t, cliEnv(nil), cmdArgs(prefix, resumeArgs...)...)
			require.Equal(t, 0, r.code, "resume: stderr %s", r.stderr)
			require.Contains(t, r.stdout, "resumed: deleted "+key)
			require.Empty(t, keysUnder(t, cli, prefix))

			r = runCLI(t, cliEnv(nil), cmdArgs(prefix, resumeArgs...)...)
			require.Equal(t, 0, r.code, "second resume is not an error: %s", r.stderr)
			require.Contains(t, r.stdout, "nothing to resume")
		})
	}
}

func TestResumeVolumeWarnsGlobalPauseRemains(t *testing.T) {
	prefix := testPrefix(t)
	require.Equal(t, 0, runCLI(t, cliEnv(nil), cmdArgs(prefix, "pause", "--reason", "all stop")...).code)
	require.Equal(t, 0, runCLI(t, cliEnv(nil), cmdArgs(prefix, "pause", "--volume", volC, "--reason", "one")...).code)
	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "resume", "--volume", volC)...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "still paused by the global pause")
}

func TestPauseRejectsBadInput(t *testing.T) {
	cli := newEtcdClient(t)
	tests := []struct {
		name  string
		args  []string
		field string
	}{
		{"no reason", []string{"pause"}, "reason"},
		{"blank reason", []string{"pause", "--reason", "   "}, "reason"},
		{"control characters", []string{"pause", "--reason", "a\nb"}, "reason"},
		{"bad volume", []string{"pause", "--volume", "vol-XYZ", "--reason", "r"}, `volume "vol-XYZ"`},
		{"instance as volume", []string{"resume", "--volume", hostA}, "volume"},
		{"negative for", []string{"pause", "--reason", "r", "--for", "-5m"}, "for -5m0s"},
		{"unparsable for", []string{"pause", "--reason", "r", "--for", "soon"}, "--for"},
		{"unknown flag", []string{"pause", "--reason", "r", "--forever"}, "--forever"},
		{"positional", []string{"pause", volA, "--reason", "r"}, "unknown command"},
		{"bad prefix", []string{"pause", "--reason", "r", "--key-prefix", "volfailover/"}, "key-prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix(t)
			// The case's flags come after the shared ones, so they win.
			args := append(append([]string{tc.args[0]}, etcdArgs(prefix)...), tc.args[1:]...)
			r := runCLI(t, cliEnv(nil), args...)
			require.Equal(t, exitUsage, r.code, "got exit %d (%v) want 2", r.code, r.err)
			require.Contains(t, r.stderr, tc.field)
			require.Empty(t, keysUnder(t, cli, prefix), "nothing may be written on bad input")
		})
	}
}

func TestSwitchover(t *testing.T) {
	cli := newEtcdClient(t)
	tests := []struct {
		name     string
		volume   string
		to       string
		code     int
		contains string
	}{
		{"to a registered peer in the AZ", volB, hostB, exitOK, "switchover of " + volB + " to " + hostB + " requested"},
		{"unknown instance", volB, "i-0123456789abcdef0", exitUsage, "not a registered host"},
		{"other AZ", volB, hostC, exitUsage, "in us-east-1b, but " + volB + " is in us-east-1a"},
		{"nofailover", volB, hostE, exitUsage, "nofailover"},
		{"already the owner", volB, hostA, exitUsage, "already the owner"},
		{"bad instance ID", volB, "host-2", exitUsage, `to "host-2"`},
		{"bad volume ID", "vol-1", hostB, exitUsage, `volume "vol-1"`},
		{"move in flight", volA, hostB, exitFailed, "a move is in progress"},
		{"AZ from history only", volC, hostC, exitOK, "requested"},
		{"other AZ from history", volC, hostB, exitUsage, "(from history record 20260228T100000.000Z-00000001)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix(t)
			seedCluster(t, cli, prefix)
			k := state.Keys{Prefix: prefix}
			before := keysUnder(t, cli, prefix)
			r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "switchover", tc.volume, "--to", tc.to)...)
			require.Equal(t, tc.code, r.code, "exit: stdout %s stderr %s", r.stdout, r.stderr)
			require.Contains(t, r.stdout+r.stderr, tc.contains)
			if tc.code != exitOK {
				require.Equal(t, before, keysUnder(t, cli, prefix), "nothing may be written when refused")
				return
			}
			resp, err := cli.Get(t.Context(), k.VolumeSwitchover(tc.volume))
			require.NoError(t, err)
			require.Len(t, resp.Kvs, 1)
			sw, inForce, err := state.ParseSwitchover(resp.Kvs[0].Value, testNow)
			require.NoError(t, err, "the controller must parse what the CLI wrote")
			require.True(t, inForce)
			require.Equal(t, tc.to, sw.To)
			require.Equal(t, "planned switchover to "+tc.to+" by tester@testhost", sw.Reason)
		})
	}
}

func TestStatusGolden(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := "/golden"
	_, err := cli.Delete(t.Context(), prefix+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	seedCluster(t, cli, prefix)

	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "status")...)
	require.Equal(t, 0, r.code, r.stderr)
	golden(t, "status.golden", r.stdout)

	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "history", volC, "--timeline")...)
	require.Equal(t, 0, r.code, r.stderr)
	golden(t, "history.golden", r.stdout)
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -run %s -update", t.Name())
	require.Equal(t, string(want), got, "output differs from %s (rerun with -update if the change is intended)", path)
}

func TestStatusJSON(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "status", "--json")...)
	require.Equal(t, 0, r.code, r.stderr)

	var doc struct {
		Time      time.Time `json:"time"`
		Prefix    string    `json:"prefix"`
		Revision  int64     `json:"revision"`
		Leader    *struct{ Instance, Key string }
		Hosts     []state.Host   `json:"hosts"`
		InFlight  []state.Record `json:"inFlight"`
		LastMoves []state.Record `json:"lastMoves"`
		Volumes   []struct {
			Volume, Owner, AZ, Paused, Moving string
			Witnesses                         []state.Report
		} `json:"volumes"`
		Overrides []struct {
			Key, Volume, Kind, State, Error, Reason, Value string
			Until                                          *time.Time
		} `json:"overrides"`
		Damping []struct {
			Volume    string
			Failovers []time.Time
		} `json:"damping"`
		Unreadable []struct{ Key, Error, Value string }
		Versions   []struct {
			Version string
			Hosts   []string
		} `json:"versions"`
		MixedVersions bool `json:"mixedVersions"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&doc), "status --json must keep its documented fields")

	require.True(t, testNow.Equal(doc.Time))
	require.Equal(t, prefix, doc.Prefix)
	require.NotZero(t, doc.Revision)
	require.NotNil(t, doc.Leader)
	require.Equal(t, hostA, doc.Leader.Instance)
	require.Len(t, doc.Hosts, 4)
	require.Len(t, doc.InFlight, 1)
	require.Equal(t, volA, doc.InFlight[0].Volume)
	require.Len(t, doc.InFlight[0].Timeline, 5)
	require.Len(t, doc.LastMoves, 2)
	require.Equal(t, volC, doc.LastMoves[0].Volume, "newest first")
	require.Len(t, doc.Volumes, 3)
	require.Equal(t, "attached", doc.Volumes[0].Moving)
	require.Equal(t, hostA, doc.Volumes[1].Owner)
	require.Equal(t, "an override of this volume does not parse", doc.Volumes[1].Paused)
	require.Len(t, doc.Volumes[1].Witnesses, 2)
	require.Equal(t, "volume pause: kernel upgrade on the owner", doc.Volumes[2].Paused)
	require.Len(t, doc.Overrides, 2)
	require.Equal(t, "malformed", doc.Overrides[0].State)
	require.Contains(t, doc.Overrides[0].Error, "unknown")
	require.Equal(t, "active", doc.Overrides[1].State)
	require.Len(t, doc.Damping, 1)
	require.Len(t, doc.Unreadable, 1)
}

func TestStatusWithoutLeader(t *testing.T) {
	prefix := testPrefix(t)
	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "status")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "LEADER  none")
	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "status", "--json")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, `"leader": null`)
}

func TestHistory(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	seedCluster(t, cli, prefix)
	tests := []struct {
		name    string
		args    []string
		records int
		bad     int
	}{
		{"all", nil, 2, 1},
		{"one volume", []string{volC}, 1, 0},
		{"volume without history", []string{volB}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cliEnv(nil), cmdArgs(prefix, append(append([]string{"history"}, tc.args...), "--json")...)...)
			require.Equal(t, 0, r.code, r.stderr)
			var h struct {
				Records    []state.Record
				Unreadable []struct{ Key, Error string }
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &h))
			require.Len(t, h.Records, tc.records)
			require.Len(t, h.Unreadable, tc.bad)
			r = runCLI(t, cliEnv(nil), cmdArgs(prefix, append([]string{"history"}, tc.args...)...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stdout, "HISTORY (")
		})
	}
	r := runCLI(t, cliEnv(nil), cmdArgs(prefix, "history", "vol-nope")...)
	require.Equal(t, exitUsage, r.code)
	r = runCLI(t, cliEnv(nil), cmdArgs(prefix, "history", volA, volB)...)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "accepts at most 1 arg")
}

func TestEnvironment(t *testing.T) {
	cli := newEtcdClient(t)
	prefix := testPrefix(t)
	env := cliEnv(map[string]string{"VOLFAILOVER_ETCD_ENDPOINTS": testEtcd, "VOLFAILOVER_KEY_PREFIX": prefix})
	r := runCLI(t, env, "pause", "--reason", "from env")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{prefix + "/pause"}, keysUnder(t, cli, prefix))

	r = runCLI(t, cliEnv(map[string]string{"VOLFAILOVER_TIMEOUT": "soon"}), cmdArgs(prefix, "status")[:1]...)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "VOLFAILOVER_TIMEOUT")
}

func TestUnreachableEtcd(t *testing.T) {
	for _, args := range [][]string{{"status"}, {"pause", "--reason", "r"}, {"resume"}, {"history"}, {"switchover", volA, "--to", hostB}} {
		t.Run(args[0], func(t *testing.T) {
			start := time.Now()
			r := runCLI(t, cliEnv(nil), append(args, "--etcd-endpoints", "http://127.0.0.1:1", "--timeout", "300ms")...)
			require.Equal(t, exitUnreachable, r.code, "got exit %d (%v) want 3", r.code, r.err)
			require.Less(t, time.Since(start), 5*time.Second, "--timeout must bound the wait")
		})
	}
}
